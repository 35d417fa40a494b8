// espcheck host core: BearSSL::WiFiClientSecure and its helpers (X509List, PublicKey), written
// from the ESP8266 Arduino core's documentation (doc/esp8266wifi/bearssl-client-secure-class.rst),
// over Debian's BearSSL.
#pragma once
#include <bearssl.h>
#include <time.h>
#include <vector>
#include "WiFiClient.h"
#include "WiFiHost.h"
extern WiFiHostClass WiFi;

namespace BearSSL {

class PublicKey {
public:
  PublicKey() {}
  PublicKey(const char *pemKey) { parse(pemKey); }
  PublicKey(const uint8_t *derKey, size_t derLen) { parse(derKey, derLen); }
  PublicKey(const PublicKey &) = delete;
  PublicKey &operator=(const PublicKey &) = delete;
  bool parse(const char *pemKey);
  bool parse(const uint8_t *derKey, size_t derLen);
  bool isRSA() const { return key_.key_type == BR_KEYTYPE_RSA; }
  bool isEC() const { return key_.key_type == BR_KEYTYPE_EC; }
  const br_rsa_public_key *getRSA() const { return isRSA() ? &key_.key.rsa : nullptr; }
  const br_ec_public_key *getEC() const { return isEC() ? &key_.key.ec : nullptr; }
  const br_x509_pkey *pkey() const { return ok_ ? &key_ : nullptr; }

private:
  br_x509_pkey key_{};
  std::vector<unsigned char> a_, b_;
  bool ok_ = false;
};

class X509List {
public:
  X509List() {}
  X509List(const char *pemCert) { append(pemCert); }
  X509List(const uint8_t *derCert, size_t derLen) { append(derCert, derLen); }
  X509List(const X509List &) = delete;
  X509List &operator=(const X509List &) = delete;
  bool append(const char *pemCert);
  bool append(const uint8_t *derCert, size_t derLen);
  size_t getCount() const { return tas_.size(); }
  const br_x509_certificate *getX509Certs() const { return certs_.data(); }
  const br_x509_trust_anchor *getTrustAnchors() const { return tas_.data(); }

private:
  struct Anchor {
    std::vector<unsigned char> der, dn, a, b;
  };
  std::vector<Anchor *> owned_;
  std::vector<br_x509_certificate> certs_;
  std::vector<br_x509_trust_anchor> tas_;

public:
  ~X509List();
};

class Session {
public:
  br_ssl_session_parameters params{};
  bool valid = false;
};

class WiFiClientSecure : public WiFiClient {
public:
  WiFiClientSecure();
  ~WiFiClientSecure() override;
  int connect(IPAddress ip, uint16_t port) override;
  int connect(const char *host, uint16_t port) override;
  int connect(const String &host, uint16_t port) { return connect(host.c_str(), port); }
  using Print::write;
  size_t write(uint8_t c) override { return write(&c, 1); }
  size_t write(const uint8_t *buf, size_t len) override;
  size_t write_P(const char *buf, size_t len) { return write(reinterpret_cast<const uint8_t *>(buf), len); }
  int available() override;
  int read() override;
  int read(uint8_t *buf, size_t len) override;
  using Client::read;
  int peek() override;
  uint8_t connected() override;
  void stop() override;
  operator bool() override { return connected(); }
  void flush() override;
  void waitReadable(unsigned long ms) override;

  void setInsecure();
  void setFingerprint(const uint8_t fingerprint[20]);
  bool setFingerprint(const char *fpStr);
  void setKnownKey(const PublicKey *pk, unsigned usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN);
  void setTrustAnchors(const X509List *ta);
  void setX509Time(time_t now) { now_ = now; }
  void allowSelfSignedCerts() { self_signed_ = true; }
  void setBufferSizes(int recv, int xmit);
  bool getMFLNStatus();
  int getLastSSLError(char *dest = nullptr, size_t len = 0);
  void setSession(Session *s) { session_ = s; }
  bool setCiphersLessSecure() { return true; }
  // The cipher suites offered, as BearSSL's BR_TLS_* numbers.
  bool setCiphers(const uint16_t *cipherAry, int cipherCount) {
    if (!cipherAry || cipherCount <= 0) return false;
    ciphers_.assign(cipherAry, cipherAry + cipherCount);
    return true;
  }
  bool setCiphers(const std::vector<uint16_t> &list) {
    return setCiphers(list.data(), (int)list.size());
  }
  bool setSSLVersion(uint32_t min = BR_TLS10, uint32_t max = BR_TLS12);
  static bool probeMaxFragmentLength(IPAddress ip, uint16_t port, uint16_t len);
  static bool probeMaxFragmentLength(const char *hostname, uint16_t port, uint16_t len);
  static bool probeMaxFragmentLength(const String &host, uint16_t port, uint16_t len) {
    return probeMaxFragmentLength(host.c_str(), port, len);
  }
#if ESPCHECK_CORE_VERSION < 30000
  // The axTLS-compatible calls of cores before 3.0: a DER CA certificate as the trust anchor.
  bool setCACert(const uint8_t *cert, size_t size);
  bool setCACert_P(PGM_VOID_P cert, size_t size) { return setCACert((const uint8_t *)cert, size); }
#endif
#if ESPCHECK_CORE_VERSION < 20500
  // axTLS's check after connect() (cores before 2.5): the leaf's SHA-1, and the host name.
  bool verify(const char *fingerprint, const char *domain_name);
#endif

  struct Engine;

private:
  bool handshake(const char *host);
  int runUntil(unsigned target, bool block);
  bool pump(bool block);
  int lastError_ = 0;
  Engine *e_ = nullptr;
  int rx_ = 16384 + 325, tx_ = 837;
  time_t now_ = 0;
  bool self_signed_ = false;
  Session *session_ = nullptr;
  uint32_t tls_min_ = BR_TLS10, tls_max_ = BR_TLS12;
  enum Mode { NONE, INSECURE, FINGERPRINT, KNOWN_KEY, ANCHORS } mode_ = NONE;
  uint8_t fp_[20] = {0};
  const PublicKey *known_ = nullptr;
  const X509List *anchors_ = nullptr;
  X509List owned_anchors_;
  bool handshake_done_ = false, lost_ = false;
  std::vector<unsigned char> ibuf_, obuf_, hello_;
  std::vector<uint16_t> ciphers_;
};

} // namespace BearSSL

#if ESPCHECK_CORE_VERSION < 20500
// Before 2.5 the default client was axTLS: connect() accepts any certificate and the sketch
// calls verify(fingerprint, host) afterwards.
typedef BearSSL::WiFiClientSecure WiFiClientSecure;
using BearSSL::X509List;
using BearSSL::PublicKey;
#else
using namespace BearSSL;
#endif
