// espcheck host core: the ESP32's WiFiClientSecure (NetworkClientSecure from core 3.0), written
// from the arduino-esp32 documentation, over Debian's mbedTLS with the core's defaults: TLS 1.2,
// the CA chain (or bundle) required when one is set, the host name checked, dates not checked
// (ESP-IDF builds mbedTLS without MBEDTLS_HAVE_TIME_DATE by default).
#pragma once
#include <string>
#include <vector>
#include "WiFi.h"
#include "WiFiClient.h"

class WiFiClientSecure : public WiFiClient {
public:
  WiFiClientSecure();
  ~WiFiClientSecure() override;
  int connect(IPAddress ip, uint16_t port) override;
  int connect(const char *host, uint16_t port) override;
  int connect(const String &host, uint16_t port) { return connect(host.c_str(), port); }
  int connect(const char *host, uint16_t port, int32_t timeout_ms) { (void)timeout_ms; return connect(host, port); }
  using Print::write;
  size_t write(uint8_t c) override { return write(&c, 1); }
  size_t write(const uint8_t *buf, size_t len) override;
  int available() override;
  int read() override;
  int read(uint8_t *buf, size_t len) override;
  using Client::read;
  int peek() override;
  uint8_t connected() override;
  void stop() override;
  operator bool() override { return connected(); }
  void flush() override {}
  void waitReadable(unsigned long ms) override;

  void setInsecure() { insecure_ = true; }
  void setCACert(const char *rootCA) { ca_ = rootCA ? rootCA : ""; has_ca_ = rootCA != nullptr; }
  void setCertificate(const char *client_ca) { cert_ = client_ca ? client_ca : ""; }
  void setPrivateKey(const char *private_key) { key_ = private_key ? private_key : ""; }
  void setPreSharedKey(const char *pskIdent, const char *psKey) { (void)pskIdent; (void)psKey; }
#if ESPCHECK_CORE_VERSION >= 30100
  void setCACertBundle(const uint8_t *bundle, size_t size);
#endif
  void setCACertBundle(const uint8_t *bundle);
  void setHandshakeTimeout(unsigned long handshake_timeout) { hs_timeout_s_ = handshake_timeout; }
  bool verify(const char *fingerprint, const char *domain_name);
  int lastError(char *buf, const size_t size);
  void setAlpnProtocols(const char **alpn_protos) { (void)alpn_protos; }

  struct Tls;

private:
  bool handshake(const char *host);
  Tls *t_ = nullptr;
  bool insecure_ = false, has_ca_ = false, use_bundle_ = false;
  std::string ca_, cert_, key_;
  std::vector<unsigned char> bundle_;
  unsigned long hs_timeout_s_ = 120;
  int last_err_ = 0;
  bool handshake_done_ = false;
};

typedef WiFiClientSecure NetworkClientSecure;
