// espcheck host core: the ESP32's WiFiClientSecure over Debian's mbedTLS.
#if defined(ESP32)
#include "Arduino.h"
#include "WiFiClientSecure.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

struct WiFiClientSecure::Tls {
  mbedtls_ssl_context ssl;
  mbedtls_ssl_config conf;
  mbedtls_x509_crt ca, own;
  mbedtls_pk_context key;
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  int fd = -1;
  bool block = true;
  unsigned long timeout_ms = 5000;
  Tls() {
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&own);
    mbedtls_pk_init(&key);
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
  }
  ~Tls() {
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&own);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
};

static int bio_send(void *ctx, const unsigned char *buf, size_t len) {
  auto *t = static_cast<WiFiClientSecure::Tls *>(ctx);
  ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);
  if (n >= 0) return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_WRITE;
  return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len) {
  auto *t = static_cast<WiFiClientSecure::Tls *>(ctx);
  if (t->block) {
    struct pollfd p = {t->fd, POLLIN, 0};
    unsigned long start = millis();
    for (;;) {
      int r = poll(&p, 1, 100);
      if (r != 0) break;
      espcheck_check_deadline();
      if (millis() - start >= t->timeout_ms) return MBEDTLS_ERR_SSL_TIMEOUT;
    }
  }
  ssize_t n = recv(t->fd, buf, len, MSG_DONTWAIT);
  if (n > 0) return (int)n;
  if (n == 0) return MBEDTLS_ERR_NET_CONN_RESET;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return MBEDTLS_ERR_SSL_WANT_READ;
  return MBEDTLS_ERR_NET_RECV_FAILED;
}

// ESP-IDF's default mbedTLS checks no dates: clear the date flags, keep every other one.
static int verify_cb(void *, mbedtls_x509_crt *, int, uint32_t *flags) {
  *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  return 0;
}

WiFiClientSecure::WiFiClientSecure() {}

WiFiClientSecure::~WiFiClientSecure() {
  stop();
}

// The ESP-IDF bundle layouts: entries of (2-byte name length, 2-byte key length, name, key),
// big-endian, after a 2-byte big-endian count (before ESP-IDF 5.3, arduino-esp32 before 3.1) or
// after one 4-byte little-endian offset per entry (from then on). `size` 0 means "as far as the
// entries go".
static std::vector<unsigned char> read_bundle(const uint8_t *b, size_t size) {
  std::vector<unsigned char> out; // normalised: 2-byte count, then the entries
  if (!b) return out;
  size_t n, at;
  const bool offsets = ESPCHECK_CORE_VERSION >= 30100;
  if (offsets) {
    uint32_t first = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
    n = first / 4;
    at = first;
  } else {
    n = (size_t)b[0] << 8 | b[1];
    at = 2;
  }
  out.push_back((unsigned char)(n >> 8));
  out.push_back((unsigned char)n);
  for (size_t i = 0; i < n; i++) {
    if (size && at + 4 > size) break;
    size_t nl = (size_t)b[at] << 8 | b[at + 1];
    size_t kl = (size_t)b[at + 2] << 8 | b[at + 3];
    if (size && at + 4 + nl + kl > size) break;
    out.insert(out.end(), b + at, b + at + 4 + nl + kl);
    at += 4 + nl + kl;
  }
  return out;
}

void WiFiClientSecure::setCACertBundle(const uint8_t *bundle) {
  use_bundle_ = bundle != nullptr;
  bundle_ = read_bundle(bundle, 0);
}

#if ESPCHECK_CORE_VERSION >= 30100
void WiFiClientSecure::setCACertBundle(const uint8_t *bundle, size_t size) {
  use_bundle_ = bundle != nullptr;
  bundle_ = read_bundle(bundle, size);
}
#endif

static std::string err_text(int err) {
  char buf[160];
  mbedtls_strerror(err, buf, sizeof buf);
  return buf;
}

// With a bundle, the chain's top certificate must be issued by a bundle entry: the entry whose
// subject is its issuer, whose key verifies its signature (esp_crt_bundle's check).
static int bundle_verify(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags) {
  auto *bundle = static_cast<std::vector<unsigned char> *>(ctx);
  *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
  if (*flags != MBEDTLS_X509_BADCERT_NOT_TRUSTED) return 0;
  (void)depth;
  const std::vector<unsigned char> &b = *bundle;
  if (b.size() < 2) return 0;
  size_t n = (size_t)b[0] << 8 | b[1], at = 2;
  for (size_t i = 0; i < n && at + 4 <= b.size(); i++) {
    size_t nl = (size_t)b[at] << 8 | b[at + 1];
    size_t kl = (size_t)b[at + 2] << 8 | b[at + 3];
    const unsigned char *name = &b[at + 4], *key = &b[at + 4 + nl];
    at += 4 + nl + kl;
    if (at > b.size()) break;
    if (crt->issuer_raw.len != nl || memcmp(crt->issuer_raw.p, name, nl) != 0) continue;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    if (mbedtls_pk_parse_public_key(&pk, key, kl) == 0) {
      const mbedtls_md_info_t *md = mbedtls_md_info_from_type(crt->sig_md);
      unsigned char hash[64];
      if (md && mbedtls_md(md, crt->tbs.p, crt->tbs.len, hash) == 0 &&
          mbedtls_pk_verify_ext(crt->sig_pk, crt->sig_opts, &pk, crt->sig_md, hash,
                                mbedtls_md_get_size(md), crt->sig.p, crt->sig.len) == 0) {
        *flags = 0;
      }
    }
    mbedtls_pk_free(&pk);
    if (*flags == 0) break;
  }
  return 0;
}

bool WiFiClientSecure::handshake(const char *host) {
  delete t_;
  t_ = new Tls();
  Tls *t = t_;
  t->fd = fd_;
  t->timeout_ms = hs_timeout_s_ * 1000;
  const char *pers = "espcheck";
  int r = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy, (const unsigned char *)pers, 8);
  if (r == 0)
    r = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
  if (r != 0) {
    last_err_ = r;
    return false;
  }
  mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
  if (has_ca_) {
    r = mbedtls_x509_crt_parse(&t->ca, (const unsigned char *)ca_.c_str(), ca_.size() + 1);
    if (r != 0) {
      last_err_ = r;
      espcheck_diag("setCACert: the certificate does not parse (%s)", err_text(r).c_str());
      return false;
    }
    mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, nullptr);
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_verify(&t->conf, verify_cb, nullptr);
  } else if (use_bundle_) {
    // No CA chain: the bundle check in the callback decides, and the result is checked below.
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_OPTIONAL);
    mbedtls_ssl_conf_verify(&t->conf, bundle_verify, &bundle_);
  } else if (insecure_) {
    mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
  } else {
    espcheck_diag("connect(%s): no setCACert, setCACertBundle or setInsecure; the core refuses", host ? host : "");
    last_err_ = MBEDTLS_ERR_X509_CERT_VERIFY_FAILED;
    return false;
  }
  if (!cert_.empty() && !key_.empty()) {
    if (mbedtls_x509_crt_parse(&t->own, (const unsigned char *)cert_.c_str(), cert_.size() + 1) == 0 &&
        mbedtls_pk_parse_key(&t->key, (const unsigned char *)key_.c_str(), key_.size() + 1, nullptr, 0) == 0)
      mbedtls_ssl_conf_own_cert(&t->conf, &t->own, &t->key);
  }
  r = mbedtls_ssl_setup(&t->ssl, &t->conf);
  if (r == 0 && host) r = mbedtls_ssl_set_hostname(&t->ssl, host);
  if (r != 0) {
    last_err_ = r;
    return false;
  }
  mbedtls_ssl_set_bio(&t->ssl, t, bio_send, bio_recv, nullptr);
  while ((r = mbedtls_ssl_handshake(&t->ssl)) != 0) {
    if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
      last_err_ = r;
      uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
      if (flags && flags != (uint32_t)-1) {
        char vbuf[512];
        mbedtls_x509_crt_verify_info(vbuf, sizeof vbuf, "", flags);
        for (char *p = vbuf; *p; p++)
          if (*p == '\n') *p = ' ';
        espcheck_diag("mbedTLS certificate verification failed: %s", vbuf);
      }
      return false;
    }
  }
  if (use_bundle_ && !has_ca_) {
    uint32_t flags = mbedtls_ssl_get_verify_result(&t->ssl);
    if (flags != 0) {
      char vbuf[512];
      mbedtls_x509_crt_verify_info(vbuf, sizeof vbuf, "", flags);
      for (char *p = vbuf; *p; p++)
        if (*p == '\n') *p = ' ';
      espcheck_diag("mbedTLS certificate verification failed (bundle): %s", vbuf);
      last_err_ = MBEDTLS_ERR_X509_CERT_VERIFY_FAILED;
      return false;
    }
  }
  t->block = false;
  t->timeout_ms = timeout_;
  handshake_done_ = true;
  return true;
}

int WiFiClientSecure::connect(const char *host, uint16_t port) {
  stop();
  last_err_ = 0;
  if (!tcpConnect(host, port)) {
    espcheck_tls_result(false);
    return 0;
  }
  bool ok = handshake(host);
  espcheck_tls_result(ok);
  if (!ok) {
    espcheck_diag("mbedTLS handshake with %s failed: -0x%04x %s", host, -last_err_, err_text(last_err_).c_str());
    stop();
    return 0;
  }
  espcheck_diag("mbedTLS handshake with %s done (%s)", host,
                has_ca_ ? "setCACert" : (use_bundle_ ? "setCACertBundle" : "setInsecure"));
  return 1;
}

int WiFiClientSecure::connect(IPAddress ip, uint16_t port) { return connect(ip.toString().c_str(), port); }

size_t WiFiClientSecure::write(const uint8_t *buf, size_t len) {
  if (!handshake_done_) return 0;
  size_t done = 0;
  while (done < len) {
    int r = mbedtls_ssl_write(&t_->ssl, buf + done, len - done);
    if (r > 0) {
      done += (size_t)r;
    } else if (r == MBEDTLS_ERR_SSL_WANT_WRITE || r == MBEDTLS_ERR_SSL_WANT_READ) {
      struct pollfd p = {fd_, POLLOUT, 0};
      poll(&p, 1, 100);
      espcheck_check_deadline();
    } else {
      last_err_ = r;
      break;
    }
  }
  return done;
}

int WiFiClientSecure::available() {
  if (!handshake_done_) return 0;
  int r = mbedtls_ssl_read(&t_->ssl, nullptr, 0);
  if (r < 0 && r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE) {
    size_t left = mbedtls_ssl_get_bytes_avail(&t_->ssl);
    if (!left) {
      // close_notify or a reset: the session is over.
      tcpClose();
      handshake_done_ = false;
    }
    return (int)left;
  }
  return (int)mbedtls_ssl_get_bytes_avail(&t_->ssl);
}

int WiFiClientSecure::read(uint8_t *buf, size_t len) {
  if (available() <= 0 || !len) return -1;
  int r = mbedtls_ssl_read(&t_->ssl, buf, len);
  return r > 0 ? r : -1;
}

int WiFiClientSecure::read() {
  uint8_t c;
  return read(&c, 1) == 1 ? c : -1;
}

int WiFiClientSecure::peek() {
  if (peeked_ >= 0) return peeked_;
  uint8_t c;
  if (read(&c, 1) == 1) peeked_ = c;
  return peeked_;
}

void WiFiClientSecure::waitReadable(unsigned long ms) {
  if (fd_ >= 0 && handshake_done_) {
    struct pollfd p = {fd_, POLLIN, 0};
    poll(&p, 1, (int)(ms < 50 ? ms : 50));
    if (available() > 0) return;
  }
  delay(ms < 10 ? ms : 10);
}

uint8_t WiFiClientSecure::connected() {
  if (peeked_ >= 0) return 1;
  if (!handshake_done_) return 0;
  if (available() > 0) return 1;
  return handshake_done_ && sockPeerOpen();
}

void WiFiClientSecure::stop() {
  if (t_ && handshake_done_ && fd_ >= 0) mbedtls_ssl_close_notify(&t_->ssl);
  handshake_done_ = false;
  tcpClose();
  delete t_;
  t_ = nullptr;
}

bool WiFiClientSecure::verify(const char *fp, const char *domain_name) {
  (void)domain_name;
  if (!handshake_done_ || !fp) return false;
  const mbedtls_x509_crt *peer = mbedtls_ssl_get_peer_cert(&t_->ssl);
  if (!peer) return false;
  unsigned char want[32], got[32];
  size_t n = 0;
  for (const char *p = fp; *p && n < 32;) {
    if (*p == ' ' || *p == ':') {
      p++;
      continue;
    }
    unsigned v;
    if (sscanf(p, "%2x", &v) != 1) return false;
    want[n++] = (unsigned char)v;
    p += 2;
  }
  if (n != 32) return false;
  mbedtls_sha256_ret(peer->raw.p, peer->raw.len, got, 0);
  return memcmp(want, got, 32) == 0;
}

int WiFiClientSecure::lastError(char *buf, const size_t size) {
  if (!last_err_) return 0;
  if (buf && size) mbedtls_strerror(last_err_, buf, size);
  return last_err_;
}
#endif
