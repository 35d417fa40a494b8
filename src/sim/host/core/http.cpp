// espcheck host core: HTTPClient.
#include "Arduino.h"
#include "HTTPClient.h"
#include "WiFiClientSecure.h"
#include <strings.h>

HTTPClient::~HTTPClient() { end(); }

bool HTTPClient::parseUrl(const String &url) {
  String u = url;
  int scheme = u.indexOf("://");
  if (scheme < 0) return false;
  String proto = u.substring(0, scheme);
  proto.toLowerCase();
  if (proto != "http" && proto != "https") return false;
  https_ = proto == "https";
  port_ = https_ ? 443 : 80;
  u = u.substring(scheme + 3);
  int slash = u.indexOf('/');
  String hostport = slash < 0 ? u : u.substring(0, slash);
  uri_ = slash < 0 ? String("/") : u.substring(slash);
  int at = hostport.indexOf('@');
  if (at >= 0) {
    auth_ = hostport.substring(0, at);
    hostport = hostport.substring(at + 1);
  }
  int colon = hostport.indexOf(':');
  if (colon >= 0) {
    host_ = hostport.substring(0, colon);
    port_ = (uint16_t)hostport.substring(colon + 1).toInt();
  } else {
    host_ = hostport;
  }
  return host_.length() > 0;
}

bool HTTPClient::begin(WiFiClient &client, const String &url) {
  end();
  client_ = &client;
  return parseUrl(url);
}

bool HTTPClient::begin(WiFiClient &client, const String &host, uint16_t port, const String &uri, bool https) {
  end();
  client_ = &client;
  host_ = host;
  port_ = port;
  uri_ = uri;
  https_ = https;
  return true;
}

#if defined(ESP32)
bool HTTPClient::begin(const String &url) {
  end();
  if (!parseUrl(url)) return false;
  if (https_) {
    // No CA given: the ESP32 core's HTTPClient makes its own client, without a server check.
    auto *c = new WiFiClientSecure();
    c->setInsecure();
    espcheck_diag("HTTPClient::begin(\"%s\") without a CA: the server is not checked", url.c_str());
    owned_.reset(c);
  } else {
    owned_.reset(new WiFiClient());
  }
  client_ = owned_.get();
  return true;
}

bool HTTPClient::begin(const String &url, const char *CAcert) {
  end();
  if (!parseUrl(url) || !https_) return false;
  auto *c = new WiFiClientSecure();
  c->setCACert(CAcert);
  owned_.reset(c);
  client_ = owned_.get();
  return true;
}

bool HTTPClient::begin(const String &host, uint16_t port, const String &uri) {
  end();
  host_ = host;
  port_ = port;
  uri_ = uri;
  owned_.reset(new WiFiClient());
  client_ = owned_.get();
  return true;
}
#endif

#if defined(ESP8266) && ESPCHECK_CORE_VERSION < 30000
// The ESP8266 core's forms before 3.0 (deprecated from 2.5): a plain URL, or HTTPS with the
// fingerprint as text.
bool HTTPClient::begin(const String &url) {
  end();
  if (!parseUrl(url)) return false;
  if (https_) {
    espcheck_diag("HTTPClient::begin(\"%s\"): HTTPS without a fingerprint is refused", url.c_str());
    return false;
  }
  owned_.reset(new WiFiClient());
  client_ = owned_.get();
  return true;
}

bool HTTPClient::begin(const String &url, const String &fingerprint) {
  end();
  if (!parseUrl(url)) return false;
  if (!https_) {
    owned_.reset(new WiFiClient());
  } else {
    auto *c = new BearSSL::WiFiClientSecure();
    if (!c->setFingerprint(fingerprint.c_str())) {
      delete c;
      return false;
    }
    owned_.reset(c);
  }
  client_ = owned_.get();
  return true;
}
#endif

void HTTPClient::end() {
  if (client_ && client_->connected()) client_->stop();
  client_ = nullptr;
  owned_.reset();
  headers_ = "";
  got_.clear();
  size_ = -1;
  code_ = 0;
}

bool HTTPClient::connected() { return client_ && client_->connected(); }

void HTTPClient::setAuthorization(const char *user, const char *password) {
  static const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = std::string(user ? user : "") + ":" + (password ? password : ""), out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += tbl[v >> 6 & 63];
    out += tbl[v & 63];
  }
  if (i < in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (i + 1 < in.size() ? (unsigned char)in[i + 1] << 8 : 0);
    out += tbl[v >> 18 & 63];
    out += tbl[v >> 12 & 63];
    out += i + 1 < in.size() ? tbl[v >> 6 & 63] : '=';
    out += '=';
  }
  auth_ = String(out);
}

void HTTPClient::addHeader(const String &name, const String &value, bool first, bool) {
  if (name.equalsIgnoreCase("Connection") || name.equalsIgnoreCase("User-Agent") || name.equalsIgnoreCase("Host"))
    return;
  String line = name + ": " + value + "\r\n";
  if (first)
    headers_ = line + headers_;
  else
    headers_ += line;
}

void HTTPClient::collectHeaders(const char *keys[], const size_t n) {
  want_.clear();
  for (size_t i = 0; i < n; i++) want_.emplace_back(keys[i], "");
}

String HTTPClient::header(const char *name) {
  for (auto &h : got_)
    if (!strcasecmp(h.first.c_str(), name)) return String(h.second);
  return String();
}

bool HTTPClient::hasHeader(const char *name) {
  for (auto &h : got_)
    if (!strcasecmp(h.first.c_str(), name)) return true;
  return false;
}

int HTTPClient::GET() { return sendRequest("GET"); }
int HTTPClient::POST(const String &p) { return sendRequest("POST", p); }
int HTTPClient::POST(const uint8_t *p, size_t n) { return sendRequest("POST", p, n); }
int HTTPClient::PUT(const String &p) { return sendRequest("PUT", p); }
int HTTPClient::PUT(const uint8_t *p, size_t n) { return sendRequest("PUT", p, n); }
int HTTPClient::PATCH(const String &p) { return sendRequest("PATCH", p); }

int HTTPClient::sendRequest(const char *type, const String &payload) {
  return sendRequest(type, reinterpret_cast<const uint8_t *>(payload.c_str()), payload.length());
}

// Redirects, as the cores document setFollowRedirects: STRICT follows a GET or HEAD with the same
// method; FORCE follows every request, as a GET without the payload after 301/302/303 and with the
// same method and payload after 307/308. A Location on another scheme is not followed (the client
// is fixed), and the response that asked for it is what the sketch gets.
int HTTPClient::sendRequest(const char *type, const uint8_t *payload, size_t size) {
  uint16_t left = redirect_limit_;
  for (;;) {
    int code = sendOnce(type, payload, size);
    if (follow_ == HTTPC_DISABLE_FOLLOW_REDIRECTS || left == 0 || location_.length() == 0) return code;
    if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) return code;
    bool get_or_head = !strcmp(type, "GET") || !strcmp(type, "HEAD");
    if (follow_ == HTTPC_STRICT_FOLLOW_REDIRECTS && !get_or_head) return code;
    if (follow_ == HTTPC_FORCE_FOLLOW_REDIRECTS && code < 307 && !get_or_head) {
      type = "GET";
      payload = nullptr;
      size = 0;
    }
    String next = location_;
    client_->stop();
    if (!setURL(next)) return code;
    left--;
  }
}

bool HTTPClient::setURL(const String &url) {
  if (url.startsWith("/")) {
    uri_ = url;
    return true;
  }
  String scheme = https_ ? "https:" : "http:";
  if (!url.startsWith(scheme)) return false;
  String auth = auth_;
  bool ok = parseUrl(url);
  if (!auth_.length()) auth_ = auth;
  return ok;
}

int HTTPClient::sendOnce(const char *type, const uint8_t *payload, size_t size) {
  if (!client_) return HTTPC_ERROR_NOT_CONNECTED;
  location_ = String();
  code_ = 0;
  got_.clear();
  size_ = -1;
  chunked_ = false;
  if (!client_->connected()) {
    client_->setTimeout(timeout_);
    if (!client_->connect(host_.c_str(), port_)) return HTTPC_ERROR_CONNECTION_REFUSED;
  }
  String req = String(type) + " " + uri_ + (http10_ ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  req += "Host: " + host_;
  if (port_ != 80 && port_ != 443) req += ":" + String((unsigned)port_);
  req += "\r\nUser-Agent: " + ua_ + "\r\nConnection: " + (reuse_ && !http10_ ? "keep-alive" : "close") + "\r\n";
  if (!http10_) req += "Accept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\n";
  if (auth_.length()) req += "Authorization: Basic " + auth_ + "\r\n";
  if (payload && size) req += "Content-Length: " + String((unsigned long)size) + "\r\n";
  else if (!strcmp(type, "POST") || !strcmp(type, "PUT") || !strcmp(type, "PATCH")) req += "Content-Length: 0\r\n";
  req += headers_ + "\r\n";
  if (client_->write(reinterpret_cast<const uint8_t *>(req.c_str()), req.length()) != req.length())
    return HTTPC_ERROR_SEND_HEADER_FAILED;
  if (payload && size && client_->write(payload, size) != size) return HTTPC_ERROR_SEND_PAYLOAD_FAILED;
  return handleHeaders();
}

bool HTTPClient::readLine(std::string &line) {
  line.clear();
  unsigned long start = millis();
  for (;;) {
    int c = client_->read();
    if (c >= 0) {
      if (c == '\n') {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      line += (char)c;
      continue;
    }
    if (!client_->connected()) return !line.empty();
    if (millis() - start > timeout_) return false;
    client_->waitReadable(timeout_);
  }
}

int HTTPClient::handleHeaders() {
  std::string line;
  unsigned long start = millis();
  for (;;) {
    if (!readLine(line)) {
      if (!client_->connected()) return HTTPC_ERROR_CONNECTION_LOST;
      if (millis() - start > timeout_) return HTTPC_ERROR_READ_TIMEOUT;
      continue;
    }
    if (code_ == 0 || line.rfind("HTTP/", 0) == 0) {
      size_t sp = line.find(' ');
      if (line.rfind("HTTP/", 0) != 0 || sp == std::string::npos) return HTTPC_ERROR_NO_HTTP_SERVER;
      code_ = atoi(line.c_str() + sp + 1);
      got_.clear();
      continue;
    }
    if (line.empty()) {
      if (code_ == 100) {
        code_ = 0;
        continue;
      }
      return code_;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon), value = line.substr(colon + 1);
    while (!value.empty() && value[0] == ' ') value.erase(0, 1);
    got_.emplace_back(name, value);
    if (!strcasecmp(name.c_str(), "Content-Length")) size_ = atoi(value.c_str());
    if (!strcasecmp(name.c_str(), "Transfer-Encoding") && strcasestr(value.c_str(), "chunked")) chunked_ = true;
    if (!strcasecmp(name.c_str(), "Location")) location_ = String(value);
  }
}

WiFiClient &HTTPClient::getStream() { return *client_; }
WiFiClient *HTTPClient::getStreamPtr() { return client_; }

String HTTPClient::getString() {
  if (!client_ || code_ <= 0) return String();
  std::string body;
  auto read_n = [&](long n) {
    unsigned long start = millis();
    while (n != 0) {
      int c = client_->read();
      if (c >= 0) {
        body += (char)c;
        if (n > 0) n--;
        start = millis();
        continue;
      }
      if (!client_->connected() || millis() - start > timeout_) return;
      client_->waitReadable(timeout_);
    }
  };
  if (chunked_) {
    std::string line;
    for (;;) {
      if (!readLine(line)) break;
      long n = strtol(line.c_str(), nullptr, 16);
      if (n <= 0) {
        readLine(line);
        break;
      }
      read_n(n);
      readLine(line);
    }
  } else {
    read_n(size_ >= 0 ? size_ : -1);
  }
  return String(body);
}

int HTTPClient::writeToStream(Stream *stream) {
  String s = getString();
  if (!stream) return HTTPC_ERROR_NO_STREAM;
  return (int)stream->print(s);
}

String HTTPClient::errorToString(int error) {
  switch (error) {
#if defined(ESP8266)
  case HTTPC_ERROR_CONNECTION_FAILED: return F("connection failed");
#else
  case HTTPC_ERROR_CONNECTION_REFUSED: return F("connection refused");
#endif
  case HTTPC_ERROR_SEND_HEADER_FAILED: return F("send header failed");
  case HTTPC_ERROR_SEND_PAYLOAD_FAILED: return F("send payload failed");
  case HTTPC_ERROR_NOT_CONNECTED: return F("not connected");
  case HTTPC_ERROR_CONNECTION_LOST: return F("connection lost");
  case HTTPC_ERROR_NO_STREAM: return F("no stream");
  case HTTPC_ERROR_NO_HTTP_SERVER: return F("no HTTP server");
  case HTTPC_ERROR_TOO_LESS_RAM: return F("not enough ram");
  case HTTPC_ERROR_ENCODING: return F("Transfer-Encoding not supported");
  case HTTPC_ERROR_STREAM_WRITE: return F("Stream write error");
  case HTTPC_ERROR_READ_TIMEOUT: return F("read Timeout");
  default: return String();
  }
}
