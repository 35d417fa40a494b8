// espcheck host core: `WiFiClient`, a TCP client over the host's sockets. Every host name resolves
// as `espcheck sim sketch --connect` says (all of them to one address, or host by host).
#pragma once
#include "Client.h"
struct sockaddr_storage;

class WiFiClient : public Client {
public:
  WiFiClient() {}
  WiFiClient(const WiFiClient &) = delete;
  WiFiClient &operator=(const WiFiClient &) = delete;
  ~WiFiClient() override;
  int connect(IPAddress ip, uint16_t port) override;
  int connect(const char *host, uint16_t port) override;
  using Client::connect;
  using Print::write;
  size_t write(uint8_t c) override { return write(&c, 1); }
  size_t write(const uint8_t *buf, size_t len) override;
  size_t write_P(const char *buf, size_t len) { return write(reinterpret_cast<const uint8_t *>(buf), len); }
  int available() override;
  int read() override;
  int read(uint8_t *buf, size_t len) override;
  using Client::read;
  int peek() override;
  void flush() override {}
  uint8_t connected() override;
  void stop() override;
  operator bool() override { return connected(); }
  void setNoDelay(bool) {}
  bool getNoDelay() { return true; }
  void setSync(bool) {}
  IPAddress remoteIP() { return remote_; }
  uint16_t remotePort() { return rport_; }
  IPAddress localIP();
  uint16_t localPort() { return 0; }
  uint8_t status() { return connected() ? 4 : 0; }
  int fd() const { return fd_; }
  void waitReadable(unsigned long ms) override;

protected:
  // The plain TCP connection under a secure client; diagnostics name `host`.
  bool tcpConnect(const char *host, uint16_t port);
  void tcpClose();
  // Socket I/O with the Stream timeout; return -1 on error or close.
  int sockRead(uint8_t *buf, size_t len, bool block);
  bool sockWriteAll(const uint8_t *buf, size_t len);
  bool sockPeerOpen();
  int fd_ = -1;
  IPAddress remote_;
  uint16_t rport_ = 0;
  int peeked_ = -1;
};

typedef WiFiClient NetworkClient;

// Name resolution as --connect says; false when the name does not resolve. `port` may be
// replaced by the one --connect gives.
bool espcheck_resolve(const char *host, uint16_t &port, struct sockaddr_storage &addr,
                      unsigned &addrlen, String &shown);
// One diagnostic line on stderr, prefixed `espcheck sim: `.
void espcheck_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Record how a TLS session went, for the exit status.
void espcheck_tls_result(bool ok);
// A session that was up failed (a TLS error while reading or writing).
void espcheck_tls_lost();
// The run's deadline passed: flush Serial and end the run.
void espcheck_check_deadline();
