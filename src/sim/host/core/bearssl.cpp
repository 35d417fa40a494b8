// espcheck host core: the ESP8266's BearSSL::WiFiClientSecure over Debian's BearSSL.
//
// Trust modes, as the ESP8266 core documents them:
//  - setFingerprint: the SHA-1 of the first (leaf) certificate must match; the rest of the chain,
//    its dates and the host name are not checked. A custom br_x509_class does this.
//  - setTrustAnchors: br_x509_minimal with the list's certificates as anchors, the board's clock
//    (or setX509Time) for dates, and the host name checked.
//  - setKnownKey: the server's key must be this key.
//  - setInsecure: anything.
// The I/O buffers are the sizes setBufferSizes asked for, so BearSSL sends the same max fragment
// length extension the board sends and fails the same way when a server ignores it.
#if defined(ESP8266)
#include "Arduino.h"
#include "WiFiClientSecureBearSSL.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string>

namespace BearSSL {

// ---- keys and certificate lists -----------------------------------------------------------

static void pem_objects(const char *pem, const char *want_prefix,
                        std::vector<std::pair<std::string, std::vector<unsigned char>>> &out) {
  br_pem_decoder_context pc;
  br_pem_decoder_init(&pc);
  std::vector<unsigned char> *cur = nullptr;
  std::string name;
  size_t len = strlen(pem);
  const char *p = pem;
  bool in = false;
  // A final newline lets the decoder see the last END line.
  std::string text(p, len);
  text += "\n";
  p = text.c_str();
  len = text.size();
  while (len > 0) {
    size_t n = br_pem_decoder_push(&pc, p, len);
    p += n;
    len -= n;
    switch (br_pem_decoder_event(&pc)) {
    case BR_PEM_BEGIN_OBJ:
      name = br_pem_decoder_name(&pc);
      out.emplace_back(name, std::vector<unsigned char>());
      cur = &out.back().second;
      in = true;
      br_pem_decoder_setdest(
          &pc, [](void *ctx, const void *buf, size_t l) {
            auto *v = static_cast<std::vector<unsigned char> *>(ctx);
            v->insert(v->end(), (const unsigned char *)buf, (const unsigned char *)buf + l);
          },
          cur);
      break;
    case BR_PEM_END_OBJ:
      in = false;
      break;
    case BR_PEM_ERROR:
      out.clear();
      return;
    default:
      break;
    }
  }
  (void)in;
  (void)want_prefix;
}

bool PublicKey::parse(const uint8_t *der, size_t len) {
  ok_ = false;
  // br_x509_decoder reads certificates only, so read the SubjectPublicKeyInfo here (RSA or EC).
  // SEQUENCE { SEQUENCE { OID alg, params }, BIT STRING key }
  auto rd_len = [&](size_t &i, size_t &l) -> bool {
    if (i >= len) return false;
    unsigned char b = der[i++];
    if (b < 0x80) {
      l = b;
      return true;
    }
    int n = b & 0x7f;
    if (n < 1 || n > 3) return false;
    l = 0;
    while (n--) {
      if (i >= len) return false;
      l = (l << 8) | der[i++];
    }
    return true;
  };
  size_t i = 0, l = 0;
  if (i >= len || der[i++] != 0x30 || !rd_len(i, l)) return false;
  if (i >= len || der[i++] != 0x30 || !rd_len(i, l)) return false;
  size_t alg_end = i + l;
  if (i >= len || der[i++] != 0x06 || !rd_len(i, l) || i + l > len) return false;
  static const unsigned char RSA_OID[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01};
  static const unsigned char EC_OID[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
  bool rsa = l == sizeof RSA_OID && !memcmp(der + i, RSA_OID, l);
  bool ec = l == sizeof EC_OID && !memcmp(der + i, EC_OID, l);
  i += l;
  int curve = 0;
  if (ec) {
    static const unsigned char P256[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const unsigned char P384[] = {0x2b, 0x81, 0x04, 0x00, 0x22};
    static const unsigned char P521[] = {0x2b, 0x81, 0x04, 0x00, 0x23};
    if (i >= len || der[i++] != 0x06 || !rd_len(i, l) || i + l > len) return false;
    if (l == sizeof P256 && !memcmp(der + i, P256, l)) curve = BR_EC_secp256r1;
    if (l == sizeof P384 && !memcmp(der + i, P384, l)) curve = BR_EC_secp384r1;
    if (l == sizeof P521 && !memcmp(der + i, P521, l)) curve = BR_EC_secp521r1;
    if (!curve) return false;
  }
  i = alg_end;
  if (i >= len || der[i++] != 0x03 || !rd_len(i, l) || i + l > len || l < 1) return false;
  i++; // unused bits
  l--;
  if (ec) {
    a_.assign(der + i, der + i + l);
    key_.key_type = BR_KEYTYPE_EC;
    key_.key.ec.curve = curve;
    key_.key.ec.q = a_.data();
    key_.key.ec.qlen = a_.size();
    ok_ = true;
    return true;
  }
  if (!rsa) return false;
  // RSAPublicKey ::= SEQUENCE { INTEGER n, INTEGER e }
  if (i >= len || der[i++] != 0x30 || !rd_len(i, l)) return false;
  if (i >= len || der[i++] != 0x02 || !rd_len(i, l) || i + l > len) return false;
  size_t ni = i, nl = l;
  while (nl > 1 && der[ni] == 0) ni++, nl--;
  a_.assign(der + ni, der + ni + nl);
  i += l;
  if (i >= len || der[i++] != 0x02 || !rd_len(i, l) || i + l > len) return false;
  size_t ei = i, el = l;
  while (el > 1 && der[ei] == 0) ei++, el--;
  b_.assign(der + ei, der + ei + el);
  key_.key_type = BR_KEYTYPE_RSA;
  key_.key.rsa.n = a_.data();
  key_.key.rsa.nlen = a_.size();
  key_.key.rsa.e = b_.data();
  key_.key.rsa.elen = b_.size();
  ok_ = true;
  return true;
}

bool PublicKey::parse(const char *pem) {
  std::vector<std::pair<std::string, std::vector<unsigned char>>> objs;
  if (!pem) return false;
  pem_objects(pem, "PUBLIC KEY", objs);
  for (auto &o : objs)
    if (o.first == "PUBLIC KEY") return parse(o.second.data(), o.second.size());
  return false;
}

X509List::~X509List() {
  for (auto *a : owned_) delete a;
}

static void dn_append(void *ctx, const void *buf, size_t len) {
  auto *v = static_cast<std::vector<unsigned char> *>(ctx);
  v->insert(v->end(), (const unsigned char *)buf, (const unsigned char *)buf + len);
}

bool X509List::append(const uint8_t *der, size_t len) {
  auto *a = new Anchor();
  a->der.assign(der, der + len);
  br_x509_decoder_context dc;
  br_x509_decoder_init(&dc, dn_append, &a->dn);
  br_x509_decoder_push(&dc, a->der.data(), a->der.size());
  const br_x509_pkey *pk = br_x509_decoder_get_pkey(&dc);
  if (!pk || br_x509_decoder_last_error(&dc) != 0) {
    delete a;
    return false;
  }
  br_x509_trust_anchor ta{};
  ta.flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
  ta.pkey.key_type = pk->key_type;
  if (pk->key_type == BR_KEYTYPE_RSA) {
    a->a.assign(pk->key.rsa.n, pk->key.rsa.n + pk->key.rsa.nlen);
    a->b.assign(pk->key.rsa.e, pk->key.rsa.e + pk->key.rsa.elen);
  } else {
    a->a.assign(pk->key.ec.q, pk->key.ec.q + pk->key.ec.qlen);
  }
  owned_.push_back(a);
  // Vectors may move on growth: rebuild every pointer.
  certs_.clear();
  std::vector<unsigned char> flags;
  for (auto &t : tas_) flags.push_back((unsigned char)t.flags);
  std::vector<int> types, curves;
  for (auto &t : tas_) {
    types.push_back(t.pkey.key_type);
    curves.push_back(t.pkey.key_type == BR_KEYTYPE_EC ? t.pkey.key.ec.curve : 0);
  }
  flags.push_back((unsigned char)ta.flags);
  types.push_back(pk->key_type);
  curves.push_back(pk->key_type == BR_KEYTYPE_EC ? pk->key.ec.curve : 0);
  tas_.clear();
  for (size_t k = 0; k < owned_.size(); k++) {
    Anchor *o = owned_[k];
    certs_.push_back(br_x509_certificate{o->der.data(), o->der.size()});
    br_x509_trust_anchor t{};
    t.dn.data = o->dn.data();
    t.dn.len = o->dn.size();
    t.flags = flags[k];
    t.pkey.key_type = (unsigned char)types[k];
    if (types[k] == BR_KEYTYPE_RSA) {
      t.pkey.key.rsa.n = o->a.data();
      t.pkey.key.rsa.nlen = o->a.size();
      t.pkey.key.rsa.e = o->b.data();
      t.pkey.key.rsa.elen = o->b.size();
    } else {
      t.pkey.key.ec.curve = curves[k];
      t.pkey.key.ec.q = o->a.data();
      t.pkey.key.ec.qlen = o->a.size();
    }
    tas_.push_back(t);
  }
  return true;
}

bool X509List::append(const char *pem) {
  if (!pem) return false;
  std::vector<std::pair<std::string, std::vector<unsigned char>>> objs;
  pem_objects(pem, "CERTIFICATE", objs);
  bool any = false;
  for (auto &o : objs)
    if (o.first == "CERTIFICATE" || o.first == "X509 CERTIFICATE")
      any = append(o.second.data(), o.second.size()) || any;
  return any;
}

// ---- the pin engine: fingerprint, known key, insecure -------------------------------------

struct PinX509 {
  const br_x509_class *vtable;
  int mode; // 0 fingerprint, 1 insecure, 2 known key, 3 self-signed only
  bool self_signed; // allowSelfSignedCerts: a self-signed leaf passes too
  uint8_t want[20];
  const br_x509_pkey *known;
  unsigned cert;
  br_sha1_context sha;
  br_x509_decoder_context dec;
  uint8_t leaf_sha1[20];
  uint8_t leaf[8192]; // the leaf's DER, for the self-signed check
  size_t leaf_len;
  bool leaf_over;
};

// One DER TLV at p (n bytes available): its header and content lengths.
static bool der_tlv(const uint8_t *p, size_t n, size_t &hdr, size_t &len) {
  if (n < 2) return false;
  size_t l = p[1];
  hdr = 2;
  if (l & 0x80) {
    size_t k = l & 0x7f;
    if (k == 0 || k > 3 || n < 2 + k) return false;
    l = 0;
    for (size_t i = 0; i < k; i++) l = (l << 8) | p[2 + i];
    hdr = 2 + k;
  }
  if (hdr + l > n) return false;
  len = l;
  return true;
}

// Whether a certificate names itself as its issuer (issuer and subject Names byte for byte).
static bool der_self_signed(const uint8_t *c, size_t n) {
  size_t h, l;
  if (!der_tlv(c, n, h, l) || c[0] != 0x30) return false;
  const uint8_t *p = c + h;
  if (!der_tlv(p, l, h, l) || p[0] != 0x30) return false;
  p += h;
  size_t rest = l;
  const uint8_t *field[6];
  size_t flen[6];
  int i = 0;
  while (rest > 0 && i < 6) {
    if (!der_tlv(p, rest, h, l)) return false;
    field[i] = p;
    flen[i] = h + l;
    i++;
    p += h + l;
    rest -= h + l;
  }
  int o = (i > 0 && field[0][0] == 0xa0) ? 1 : 0; // [0] version
  // serial, signature, issuer, validity, subject
  if (i < o + 5) return false;
  return flen[o + 2] == flen[o + 4] && memcmp(field[o + 2], field[o + 4], flen[o + 2]) == 0;
}

static void pin_start_chain(const br_x509_class **ctx, const char *) {
  PinX509 *x = reinterpret_cast<PinX509 *>(ctx);
  x->cert = 0;
}

static void pin_start_cert(const br_x509_class **ctx, uint32_t) {
  PinX509 *x = reinterpret_cast<PinX509 *>(ctx);
  if (x->cert == 0) {
    br_sha1_init(&x->sha);
    br_x509_decoder_init(&x->dec, nullptr, nullptr);
    x->leaf_len = 0;
    x->leaf_over = false;
  }
}

static void pin_append(const br_x509_class **ctx, const unsigned char *buf, size_t len) {
  PinX509 *x = reinterpret_cast<PinX509 *>(ctx);
  if (x->cert == 0) {
    br_sha1_update(&x->sha, buf, len);
    br_x509_decoder_push(&x->dec, buf, len);
    if (x->leaf_len + len <= sizeof x->leaf) {
      memcpy(x->leaf + x->leaf_len, buf, len);
      x->leaf_len += len;
    } else {
      x->leaf_over = true;
    }
  }
}

static void pin_end_cert(const br_x509_class **ctx) {
  PinX509 *x = reinterpret_cast<PinX509 *>(ctx);
  if (x->cert == 0) br_sha1_out(&x->sha, x->leaf_sha1);
  x->cert++;
}

static unsigned pin_end_chain(const br_x509_class **ctx) {
  PinX509 *x = reinterpret_cast<PinX509 *>(ctx);
  if (x->mode == 2) return 0;
  if (x->cert == 0) return BR_ERR_X509_EMPTY_CHAIN;
  if (!br_x509_decoder_get_pkey(&x->dec)) return br_x509_decoder_last_error(&x->dec);
  bool self = x->self_signed && !x->leaf_over && der_self_signed(x->leaf, x->leaf_len);
  if (x->mode == 0 && memcmp(x->leaf_sha1, x->want, 20) != 0 && !self) return BR_ERR_X509_NOT_TRUSTED;
  if (x->mode == 3 && !self) return BR_ERR_X509_NOT_TRUSTED;
  return 0;
}

static const br_x509_pkey *pin_get_pkey(const br_x509_class *const *ctx, unsigned *usages) {
  const PinX509 *x = reinterpret_cast<const PinX509 *>(ctx);
  if (usages) *usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
  if (x->mode == 2) return x->known;
  return br_x509_decoder_get_pkey(const_cast<br_x509_decoder_context *>(&x->dec));
}

static const br_x509_class PIN_X509 = {sizeof(PinX509), pin_start_chain, pin_start_cert, pin_append,
                                       pin_end_cert,    pin_end_chain,   pin_get_pkey};

// A probeMaxFragmentLength handshake is no connection of the sketch's: it is not counted.
static bool s_probing = false;

struct WiFiClientSecure::Engine {
  br_ssl_client_context sc;
  br_x509_minimal_context xm;
  PinX509 pin;
};

// ---- the client ---------------------------------------------------------------------------

WiFiClientSecure::WiFiClientSecure() {
#if ESPCHECK_CORE_VERSION < 20500
  mode_ = INSECURE;
#endif
}

WiFiClientSecure::~WiFiClientSecure() {
  stop();
  delete e_;
}

void WiFiClientSecure::setInsecure() { mode_ = INSECURE; }

void WiFiClientSecure::setFingerprint(const uint8_t fingerprint[20]) {
  memcpy(fp_, fingerprint, 20);
  mode_ = FINGERPRINT;
}

// The core's grammar: 20 hex pairs, each followed by any number of spaces or colons.
bool WiFiClientSecure::setFingerprint(const char *s) {
  if (!s) return false;
  uint8_t fp[20];
  size_t i = 0, len = strlen(s);
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int idx = 0;
  while (idx < 20) {
    if (i >= len) break;
    if (i + 1 >= len) return false;
    int hi = nib(s[i]), lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) return false;
    fp[idx++] = (uint8_t)(hi << 4 | lo);
    i += 2;
    while (i < len && (s[i] == ' ' || s[i] == ':')) i++;
  }
  if (idx != 20 || i != len) return false;
  setFingerprint(fp);
  return true;
}

void WiFiClientSecure::setKnownKey(const PublicKey *pk, unsigned) {
  known_ = pk;
  mode_ = KNOWN_KEY;
}

void WiFiClientSecure::setTrustAnchors(const X509List *ta) {
  anchors_ = ta;
  mode_ = ANCHORS;
}

#if ESPCHECK_CORE_VERSION < 30000
bool WiFiClientSecure::setCACert(const uint8_t *cert, size_t size) {
  if (!cert || !owned_anchors_.append(cert, size)) return false;
  setTrustAnchors(&owned_anchors_);
  return true;
}
#endif

void WiFiClientSecure::setBufferSizes(int recv, int xmit) {
  // The core's bounds: at least 512 bytes, at most 16 kB plus record overhead.
  auto clamp = [](int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); };
  rx_ = clamp(recv, 512 + 325, 16384 + 325);
  tx_ = clamp(xmit, 512 + 85, 16384 + 85);
}

bool WiFiClientSecure::setSSLVersion(uint32_t min, uint32_t max) {
  if (min > max || min < BR_TLS10 || max > BR_TLS12) return false;
  tls_min_ = min;
  tls_max_ = max;
  return true;
}

// Whether the first record from the server, a ServerHello, carries max_fragment_length (type 1).
static bool serverHelloHasMfln(const std::vector<unsigned char> &b) {
  // record header (5), handshake header (4), version (2), random (32)
  size_t i = 5 + 4 + 2 + 32;
  if (b.size() < i + 1 || b[0] != 22 || b[5] != 2) return false;
  i += 1 + b[i]; // session id
  i += 2 + 1;    // cipher suite, compression
  if (b.size() < i + 2) return false;
  size_t end = i + 2 + ((size_t)b[i] << 8 | b[i + 1]);
  i += 2;
  while (i + 4 <= end && i + 4 <= b.size()) {
    unsigned type = (unsigned)b[i] << 8 | b[i + 1];
    size_t len = (size_t)b[i + 2] << 8 | b[i + 3];
    if (type == 1) return true;
    i += 4 + len;
  }
  return false;
}

bool WiFiClientSecure::getMFLNStatus() {
  // Debian's BearSSL 0.6 keeps no record of it: read the server's (plaintext) ServerHello.
  return e_ && handshake_done_ && e_->sc.eng.log_max_frag_len < 14 && serverHelloHasMfln(hello_);
}

static const char *bearssl_error_name(int err) {
  switch (err) {
  case BR_ERR_OK: return "OK";
  case BR_ERR_BAD_PARAM: return "Caller-provided parameter is incorrect.";
  case BR_ERR_BAD_STATE: return "Operation requested by the caller cannot be applied with the current context state (e.g. reading data while outgoing data is waiting to be sent).";
  case BR_ERR_UNSUPPORTED_VERSION: return "Incoming protocol or record version is unsupported.";
  case BR_ERR_BAD_VERSION: return "Incoming record version does not match the expected version.";
  case BR_ERR_BAD_LENGTH: return "Incoming record length is invalid.";
  case BR_ERR_TOO_LARGE: return "Incoming record is too large to be processed, or buffer is too small for the handshake message to send.";
  case BR_ERR_BAD_MAC: return "Decryption found an invalid padding, or the record MAC is not correct.";
  case BR_ERR_NO_RANDOM: return "No initial entropy was provided, and none can be obtained from the OS.";
  case BR_ERR_UNKNOWN_TYPE: return "Incoming record type is unknown.";
  case BR_ERR_UNEXPECTED: return "Incoming record or message has wrong type with regards to the current engine state.";
  case BR_ERR_BAD_CCS: return "ChangeCipherSpec message from the peer has invalid contents.";
  case BR_ERR_BAD_ALERT: return "Alert message from the peer has invalid contents (odd length).";
  case BR_ERR_BAD_HANDSHAKE: return "Incoming handshake message decoding failed.";
  case BR_ERR_OVERSIZED_ID: return "ServerHello contains a session ID which is larger than 32 bytes.";
  case BR_ERR_BAD_CIPHER_SUITE: return "Server wants to use a cipher suite that we did not claim to support. This is also reported if we tried to advertise a cipher suite that we do not support.";
  case BR_ERR_BAD_COMPRESSION: return "Server wants to use a compression that we did not claim to support.";
  case BR_ERR_BAD_FRAGLEN: return "Server's max fragment length does not match client's.";
  case BR_ERR_BAD_SECRENEG: return "Secure renegotiation failed.";
  case BR_ERR_EXTRA_EXTENSION: return "Server sent an extension type that we did not announce, or used the same extension type several times in a single ServerHello.";
  case BR_ERR_BAD_SNI: return "Invalid Server Name Indication contents (when used by the server, this extension shall be empty).";
  case BR_ERR_BAD_HELLO_DONE: return "Invalid ServerHelloDone from the server (length is not 0).";
  case BR_ERR_LIMIT_EXCEEDED: return "Internal limit exceeded (e.g. server's public key is too large).";
  case BR_ERR_BAD_FINISHED: return "Finished message from peer does not match the expected value.";
  case BR_ERR_RESUME_MISMATCH: return "Session resumption attempt with distinct version or cipher suite.";
  case BR_ERR_INVALID_ALGORITHM: return "Unsupported or invalid algorithm (ECDHE curve, signature algorithm, hash function).";
  case BR_ERR_BAD_SIGNATURE: return "Invalid signature in ServerKeyExchange or CertificateVerify message.";
  case BR_ERR_WRONG_KEY_USAGE: return "Peer's public key does not have the proper type or is not allowed for the requested operation.";
  case BR_ERR_NO_CLIENT_AUTH: return "Client did not send a certificate upon request, or the client certificate could not be validated.";
  case BR_ERR_IO: return "I/O error or premature close on transport stream.";
  case BR_ERR_X509_INVALID_VALUE: return "Invalid value in an ASN.1 structure.";
  case BR_ERR_X509_TRUNCATED: return "Truncated certificate or other ASN.1 object.";
  case BR_ERR_X509_EMPTY_CHAIN: return "Empty certificate chain (no certificate at all).";
  case BR_ERR_X509_INNER_TRUNC: return "Decoding error: inner element extends beyond outer element size.";
  case BR_ERR_X509_BAD_TAG_CLASS: return "Decoding error: unsupported tag class (application or private).";
  case BR_ERR_X509_BAD_TAG_VALUE: return "Decoding error: unsupported tag value.";
  case BR_ERR_X509_INDEFINITE_LENGTH: return "Decoding error: indefinite length.";
  case BR_ERR_X509_EXTRA_ELEMENT: return "Decoding error: extraneous element.";
  case BR_ERR_X509_UNEXPECTED: return "Decoding error: unexpected element.";
  case BR_ERR_X509_NOT_CONSTRUCTED: return "Decoding error: expected constructed element, but is primitive.";
  case BR_ERR_X509_NOT_PRIMITIVE: return "Decoding error: expected primitive element, but is constructed.";
  case BR_ERR_X509_PARTIAL_BYTE: return "Decoding error: BIT STRING length is not multiple of 8.";
  case BR_ERR_X509_BAD_BOOLEAN: return "Decoding error: BOOLEAN value has invalid length.";
  case BR_ERR_X509_OVERFLOW: return "Decoding error: value is off-limits.";
  case BR_ERR_X509_BAD_DN: return "Invalid distinguished name.";
  case BR_ERR_X509_BAD_TIME: return "Invalid date/time representation.";
  case BR_ERR_X509_UNSUPPORTED: return "Certificate contains unsupported features that cannot be ignored.";
  case BR_ERR_X509_LIMIT_EXCEEDED: return "Key or signature size exceeds internal limits.";
  case BR_ERR_X509_WRONG_KEY_TYPE: return "Key type does not match that which was expected.";
  case BR_ERR_X509_BAD_SIGNATURE: return "Signature is invalid.";
  case BR_ERR_X509_TIME_UNKNOWN: return "Validation time is unknown.";
  case BR_ERR_X509_EXPIRED: return "Certificate is expired or not yet valid.";
  case BR_ERR_X509_DN_MISMATCH: return "Issuer/Subject DN mismatch in the chain.";
  case BR_ERR_X509_BAD_SERVER_NAME: return "Expected server name was not found in the chain.";
  case BR_ERR_X509_CRITICAL_EXTENSION: return "Unknown critical extension in certificate.";
  case BR_ERR_X509_NOT_CA: return "Not a CA, or path length constraint violation.";
  case BR_ERR_X509_FORBIDDEN_KEY_USAGE: return "Key Usage extension prohibits intended usage.";
  case BR_ERR_X509_WEAK_PUBLIC_KEY: return "Public key found in certificate is too small.";
  case BR_ERR_X509_NOT_TRUSTED: return "Chain could not be linked to a trust anchor.";
  default:
    if (err >= BR_ERR_SEND_FATAL_ALERT) return "We sent a fatal alert.";
    if (err >= BR_ERR_RECV_FATAL_ALERT) return "We received a fatal alert from the server.";
    return "Unknown error code.";
  }
}

int WiFiClientSecure::getLastSSLError(char *dest, size_t len) {
  if (dest && len) {
    strncpy(dest, bearssl_error_name(lastError_), len - 1);
    dest[len - 1] = 0;
  }
  return lastError_;
}

// Feed the engine from the socket and drain it to the socket until `target` is ready. Returns
// the engine state, or -1 when the connection is closed or failed.
int WiFiClientSecure::runUntil(unsigned target, bool block) {
  if (!e_ || fd_ < 0) return -1;
  br_ssl_engine_context *eng = &e_->sc.eng;
  unsigned long start = millis();
  for (;;) {
    unsigned st = br_ssl_engine_current_state(eng);
    if (st & BR_SSL_CLOSED) {
      int err = br_ssl_engine_last_error(eng);
      if (handshake_done_ && err != BR_ERR_OK && !lost_) {
        lost_ = true;
        espcheck_diag("BearSSL: the session failed: error %d, %s", err, bearssl_error_name(err));
        espcheck_tls_lost();
      }
      lastError_ = err;
      return -1;
    }
    if (st & BR_SSL_SENDREC) {
      size_t len;
      unsigned char *buf = br_ssl_engine_sendrec_buf(eng, &len);
      if (!sockWriteAll(buf, len)) {
        br_ssl_engine_close(eng);
        lastError_ = BR_ERR_IO;
        tcpClose();
        return -1;
      }
      br_ssl_engine_sendrec_ack(eng, len);
      continue;
    }
    if (st & target) return (int)st;
    if (st & BR_SSL_RECVAPP) return (int)st; // app data waits; the caller reads it
    if (st & BR_SSL_RECVREC) {
      size_t len;
      unsigned char *buf = br_ssl_engine_recvrec_buf(eng, &len);
      if (block) {
        unsigned long spent = millis() - start;
        unsigned long wait = timeout_ > spent ? timeout_ - spent : 0;
        struct pollfd p = {fd_, POLLIN, 0};
        if (poll(&p, 1, (int)(wait < 100 ? wait : 100)) == 0) {
          espcheck_check_deadline();
          if (millis() - start >= timeout_) return (int)st;
          continue;
        }
      }
      ssize_t n = recv(fd_, buf, len, MSG_DONTWAIT);
      if (n > 0) {
        if (!handshake_done_ && hello_.size() < 4096) hello_.insert(hello_.end(), buf, buf + n);
        br_ssl_engine_recvrec_ack(eng, (size_t)n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (!block) return (int)st;
        continue;
      }
      // The peer closed or reset the TCP connection.
      if (!handshake_done_) lastError_ = BR_ERR_IO;
      tcpClose();
      return -1;
    }
    // Neither side can move: flush a partial record and try again.
    br_ssl_engine_flush(eng, 0);
    if (!(br_ssl_engine_current_state(eng) & (BR_SSL_SENDREC | BR_SSL_RECVREC))) return (int)st;
  }
}

bool WiFiClientSecure::handshake(const char *host) {
  if (!e_) e_ = new Engine();
  br_ssl_client_context *sc = &e_->sc;
  const br_x509_trust_anchor *tas = nullptr;
  size_t nta = 0;
  if (mode_ == ANCHORS && anchors_) {
    tas = anchors_->getTrustAnchors();
    nta = anchors_->getCount();
  }
  br_ssl_client_init_full(sc, &e_->xm, tas, nta);
  br_ssl_engine_set_versions(&sc->eng, tls_min_, tls_max_);
  if (!ciphers_.empty()) br_ssl_engine_set_suites(&sc->eng, ciphers_.data(), ciphers_.size());
  if (mode_ == ANCHORS) {
    time_t now = now_ ? now_ : time(nullptr);
    br_x509_minimal_set_time(&e_->xm, (uint32_t)(now / 86400 + 719528), (uint32_t)(now % 86400));
  } else {
    memset(&e_->pin, 0, sizeof e_->pin);
    e_->pin.vtable = &PIN_X509;
    e_->pin.mode = mode_ == FINGERPRINT ? 0 : (mode_ == KNOWN_KEY ? 2 : (mode_ == NONE ? 3 : 1));
    e_->pin.self_signed = self_signed_;
    memcpy(e_->pin.want, fp_, 20);
    e_->pin.known = known_ ? known_->pkey() : nullptr;
    br_ssl_engine_set_x509(&sc->eng, &e_->pin.vtable);
  }
  hello_.clear();
  lost_ = false;
  ibuf_.assign((size_t)rx_, 0);
  obuf_.assign((size_t)tx_, 0);
  br_ssl_engine_set_buffers_bidi(&sc->eng, ibuf_.data(), ibuf_.size(), obuf_.data(), obuf_.size());
  if (session_ && session_->valid) br_ssl_engine_set_session_parameters(&sc->eng, &session_->params);
  if (!br_ssl_client_reset(sc, host, session_ && session_->valid)) {
    lastError_ = br_ssl_engine_last_error(&sc->eng);
    return false;
  }
  unsigned long saved = timeout_;
  if (timeout_ < 15000) timeout_ = 15000; // the core's handshake bound
  int st = runUntil(BR_SSL_SENDAPP | BR_SSL_RECVAPP, true);
  timeout_ = saved;
  if (st < 0 || !(st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
    if (st >= 0) lastError_ = BR_ERR_IO;
    return false;
  }
  handshake_done_ = true;
  if (session_) {
    br_ssl_engine_get_session_parameters(&sc->eng, &session_->params);
    session_->valid = true;
  }
  return true;
}

static const char *mode_name(int m) {
  switch (m) {
  case 1: return "setInsecure";
  case 2: return "setFingerprint";
  case 3: return "setKnownKey";
  case 4: return "setTrustAnchors";
  default: return "no trust mode";
  }
}

int WiFiClientSecure::connect(const char *host, uint16_t port) {
  stop();
  lastError_ = 0;
  if (mode_ == NONE && !self_signed_) {
    espcheck_diag("BearSSL connect(%s): no trust mode set (setFingerprint, setTrustAnchors, "
                  "setKnownKey or setInsecure); the core refuses to connect",
                  host);
    espcheck_tls_result(false);
    return 0;
  }
  if (!tcpConnect(host, port)) {
    if (!s_probing) espcheck_tls_result(false);
    return 0;
  }
  bool ok = handshake(host);
  if (!s_probing) espcheck_tls_result(ok);
  if (!ok) {
    espcheck_diag("BearSSL handshake with %s failed (%s): error %d, %s", host, (mode_ == NONE ? "allowSelfSignedCerts" : mode_name(mode_)), lastError_,
                  bearssl_error_name(lastError_));
    tcpClose();
    return 0;
  }
  espcheck_diag("BearSSL handshake with %s done (%s, buffers %d/%d, MFLN %s)", host, (mode_ == NONE ? "allowSelfSignedCerts" : mode_name(mode_)), rx_, tx_,
                getMFLNStatus() ? "negotiated" : "not negotiated");
  return 1;
}

int WiFiClientSecure::connect(IPAddress ip, uint16_t port) {
  stop();
  lastError_ = 0;
  if (mode_ == NONE && !self_signed_) {
    espcheck_tls_result(false);
    return 0;
  }
  String host = ip.toString();
  if (!tcpConnect(host.c_str(), port)) {
    if (!s_probing) espcheck_tls_result(false);
    return 0;
  }
  bool ok = handshake(nullptr);
  if (!s_probing) espcheck_tls_result(ok);
  if (!ok) {
    espcheck_diag("BearSSL handshake with %s failed: error %d, %s", host.c_str(), lastError_,
                  bearssl_error_name(lastError_));
    tcpClose();
  }
  return ok;
}

size_t WiFiClientSecure::write(const uint8_t *buf, size_t len) {
  if (!handshake_done_ || !e_) return 0;
  br_ssl_engine_context *eng = &e_->sc.eng;
  size_t done = 0;
  while (done < len) {
    int st = runUntil(BR_SSL_SENDAPP, true);
    if (st < 0 || !(st & BR_SSL_SENDAPP)) break;
    size_t room;
    unsigned char *app = br_ssl_engine_sendapp_buf(eng, &room);
    size_t n = len - done < room ? len - done : room;
    memcpy(app, buf + done, n);
    br_ssl_engine_sendapp_ack(eng, n);
    done += n;
  }
  // Each write is one record on the wire, as on the board.
  br_ssl_engine_flush(eng, 0);
  runUntil(BR_SSL_SENDAPP, true);
  return done;
}

void WiFiClientSecure::flush() {
  if (e_ && handshake_done_) {
    br_ssl_engine_flush(&e_->sc.eng, 0);
    runUntil(BR_SSL_SENDAPP, true);
  }
}

int WiFiClientSecure::available() {
  if (!e_ || !handshake_done_) return 0;
  br_ssl_engine_context *eng = &e_->sc.eng;
  size_t len = 0;
  if (br_ssl_engine_recvapp_buf(eng, &len) && len) return (int)len;
  if (fd_ < 0) return 0;
  runUntil(BR_SSL_RECVAPP, false);
  if (br_ssl_engine_recvapp_buf(eng, &len) && len) return (int)len;
  return 0;
}

int WiFiClientSecure::read(uint8_t *buf, size_t len) {
  int avail = available();
  if (avail <= 0 || !len) return -1;
  size_t have;
  unsigned char *app = br_ssl_engine_recvapp_buf(&e_->sc.eng, &have);
  size_t n = len < have ? len : have;
  memcpy(buf, app, n);
  br_ssl_engine_recvapp_ack(&e_->sc.eng, n);
  return (int)n;
}

int WiFiClientSecure::read() {
  uint8_t c;
  return read(&c, 1) == 1 ? c : -1;
}

int WiFiClientSecure::peek() {
  if (available() <= 0) return -1;
  size_t have;
  unsigned char *app = br_ssl_engine_recvapp_buf(&e_->sc.eng, &have);
  return have ? app[0] : -1;
}

void WiFiClientSecure::waitReadable(unsigned long ms) {
  if (fd_ >= 0 && e_ && handshake_done_) {
    struct pollfd p = {fd_, POLLIN, 0};
    poll(&p, 1, (int)(ms < 50 ? ms : 50));
    if (available() > 0) return;
  }
  delay(ms < 10 ? ms : 10);
}

uint8_t WiFiClientSecure::connected() {
  if (!e_ || !handshake_done_) return 0;
  if (available() > 0) return 1;
  if (fd_ < 0) return 0;
  if (br_ssl_engine_current_state(&e_->sc.eng) & BR_SSL_CLOSED) return 0;
  return sockPeerOpen();
}

void WiFiClientSecure::stop() {
  if (e_ && handshake_done_ && fd_ >= 0) {
    br_ssl_engine_close(&e_->sc.eng);
    // Send close_notify, do not wait for the peer's.
    size_t len;
    unsigned char *buf = br_ssl_engine_sendrec_buf(&e_->sc.eng, &len);
    if (buf && len) sockWriteAll(buf, len);
  }
  handshake_done_ = false;
  tcpClose();
}

#if ESPCHECK_CORE_VERSION < 20500
bool WiFiClientSecure::verify(const char *fingerprint, const char *domain_name) {
  (void)domain_name;
  if (!e_ || !handshake_done_) return false;
  uint8_t want[20];
  // axTLS read the string pair by pair, skipping spaces and colons.
  size_t i = 0, n = fingerprint ? strlen(fingerprint) : 0;
  int idx = 0;
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (idx < 20 && i < n) {
    if (fingerprint[i] == ' ' || fingerprint[i] == ':') {
      i++;
      continue;
    }
    if (i + 1 >= n) return false;
    int hi = nib(fingerprint[i]), lo = nib(fingerprint[i + 1]);
    if (hi < 0 || lo < 0) return false;
    want[idx++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  if (idx != 20) return false;
  bool ok = memcmp(want, e_->pin.leaf_sha1, 20) == 0;
  espcheck_diag("verify(): the leaf's SHA-1 %s the fingerprint", ok ? "matches" : "does not match");
  if (!ok) espcheck_tls_lost();
  return ok;
}
#endif

// The core's probe: a handshake offering `len` as the max fragment length; true when the server
// accepts it.
static bool probe(const char *host, uint16_t port, uint16_t len) {
  WiFiClientSecure c;
  c.setInsecure();
  c.setBufferSizes(len + 325, len + 85);
  s_probing = true;
  bool ok = c.connect(host, port) && c.getMFLNStatus();
  c.stop();
  s_probing = false;
  espcheck_diag("probeMaxFragmentLength(%s, %u, %u): %s", host, port, len, ok ? "supported" : "not supported");
  return ok;
}

bool WiFiClientSecure::probeMaxFragmentLength(const char *host, uint16_t port, uint16_t len) {
  return probe(host, port, len);
}

bool WiFiClientSecure::probeMaxFragmentLength(IPAddress ip, uint16_t port, uint16_t len) {
  return probe(ip.toString().c_str(), port, len);
}

} // namespace BearSSL
#endif
