// espcheck host core: the Wi-Fi station both boards share. The network is the host's: joining is
// immediate (or fails, or takes a few seconds, as `espcheck sim sketch --wifi` says) and every host
// name resolves as `--connect` says.
#pragma once
#include "Arduino.h"
#include "IPAddress.h"

typedef enum {
  WL_NO_SHIELD = 255,
  WL_IDLE_STATUS = 0,
  WL_NO_SSID_AVAIL = 1,
  WL_SCAN_COMPLETED = 2,
  WL_CONNECTED = 3,
  WL_CONNECT_FAILED = 4,
  WL_CONNECTION_LOST = 5,
  WL_WRONG_PASSWORD = 6,
  WL_DISCONNECTED = 7
} wl_status_t;

typedef enum { WIFI_OFF = 0, WIFI_STA = 1, WIFI_AP = 2, WIFI_AP_STA = 3 } WiFiMode_t;
typedef WiFiMode_t wifi_mode_t;
#define WIFI_MODE_NULL WIFI_OFF
#define WIFI_MODE_STA WIFI_STA
#define WIFI_MODE_AP WIFI_AP
#define WIFI_MODE_APSTA WIFI_AP_STA

class WiFiHostClass {
public:
  wl_status_t begin(const char *ssid, const char *pass = nullptr, int32_t channel = 0,
                    const uint8_t *bssid = nullptr, bool connect = true);
  wl_status_t begin(const String &ssid, const String &pass = String()) {
    return begin(ssid.c_str(), pass.c_str());
  }
  wl_status_t begin();
  wl_status_t status();
  bool isConnected() { return status() == WL_CONNECTED; }
  bool mode(WiFiMode_t m) { mode_ = m; return true; }
  WiFiMode_t getMode() { return mode_; }
  bool disconnect(bool wifioff = false);
  bool reconnect() { begin(); return true; }
  bool setAutoConnect(bool) { return true; }
  bool setAutoReconnect(bool) { return true; }
  bool getAutoReconnect() { return true; }
  void persistent(bool) {}
  bool setSleep(bool) { return true; }
  bool hostname(const char *n) { host_ = n; return true; }
  bool hostname(const String &n) { host_ = n; return true; }
  String hostname() { return host_; }
  bool setHostname(const char *n) { return hostname(n); }
  const char *getHostname() { return host_.c_str(); }
  bool config(IPAddress, IPAddress, IPAddress, IPAddress = IPAddress(), IPAddress = IPAddress()) { return true; }
  uint8_t waitForConnectResult(unsigned long timeout_ms = 60000);
  IPAddress localIP();
  IPAddress gatewayIP() { return IPAddress(192, 168, 1, 1); }
  IPAddress subnetMask() { return IPAddress(255, 255, 255, 0); }
  IPAddress dnsIP(uint8_t = 0) { return IPAddress(192, 168, 1, 1); }
  String macAddress() { return "5C:CF:7F:C0:FF:EE"; }
  uint8_t *macAddress(uint8_t *mac);
  String SSID() { return ssid_; }
  String psk() { return pass_; }
  int32_t RSSI() { return status() == WL_CONNECTED ? -52 : 0; }
  int32_t channel() { return 6; }
  // Radio settings the host has no radio for: accepted, no effect.
  bool setOutputPower(float) { return true; }
  bool setPhyMode(int) { return true; }
  bool forceSleepWake() { return true; }
  bool forceSleepBegin(uint32_t = 0) { return true; }
  bool softAPdisconnect(bool = false) { return true; }
  bool setSleepMode(int, uint8_t = 0) { return true; }
  bool enableInsecureWEP(bool = true) { return true; }
  bool setTxPower(int) { return true; }
  int8_t scanNetworks(bool = false, bool = false) { return 0; }
  void printDiag(Print &p);
  int hostByName(const char *host, IPAddress &result);
  int hostByName(const char *host, IPAddress &result, uint32_t) { return hostByName(host, result); }

private:
  WiFiMode_t mode_ = WIFI_STA;
  String ssid_, pass_, host_ = "esp-host";
  bool begun_ = false;
  unsigned long begun_at_ = 0;
};

class WiFiMultiHost {
public:
  bool addAP(const char *ssid, const char *pass = nullptr);
  wl_status_t run(uint32_t timeout_ms = 10000);
  bool existsAP(const char *ssid, const char *pass = nullptr);
  void cleanAPlist() { n_ = 0; }

private:
  String ssid_[8], pass_[8];
  int n_ = 0;
};
