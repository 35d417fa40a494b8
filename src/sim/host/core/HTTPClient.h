// espcheck host core: HTTPClient (ESP32 <HTTPClient.h>, ESP8266 <ESP8266HTTPClient.h>), written
// from the cores' documentation: begin, GET, POST, PUT, sendRequest, addHeader, getString,
// getSize, getStream, errorToString, end. HTTP/1.1 with Content-Length or chunked bodies.
#pragma once
#include <memory>
#include <string>
#include <vector>
#include "WiFiClient.h"

#define HTTPC_ERROR_CONNECTION_REFUSED (-1)
#define HTTPC_ERROR_CONNECTION_FAILED (-1)
#define HTTPC_ERROR_SEND_HEADER_FAILED (-2)
#define HTTPC_ERROR_SEND_PAYLOAD_FAILED (-3)
#define HTTPC_ERROR_NOT_CONNECTED (-4)
#define HTTPC_ERROR_CONNECTION_LOST (-5)
#define HTTPC_ERROR_NO_STREAM (-6)
#define HTTPC_ERROR_NO_HTTP_SERVER (-7)
#define HTTPC_ERROR_TOO_LESS_RAM (-8)
#define HTTPC_ERROR_ENCODING (-9)
#define HTTPC_ERROR_STREAM_WRITE (-10)
#define HTTPC_ERROR_READ_TIMEOUT (-11)

typedef enum {
  HTTP_CODE_CONTINUE = 100,
  HTTP_CODE_OK = 200,
  HTTP_CODE_CREATED = 201,
  HTTP_CODE_ACCEPTED = 202,
  HTTP_CODE_NO_CONTENT = 204,
  HTTP_CODE_MOVED_PERMANENTLY = 301,
  HTTP_CODE_FOUND = 302,
  HTTP_CODE_NOT_MODIFIED = 304,
  HTTP_CODE_BAD_REQUEST = 400,
  HTTP_CODE_UNAUTHORIZED = 401,
  HTTP_CODE_FORBIDDEN = 403,
  HTTP_CODE_NOT_FOUND = 404,
  HTTP_CODE_UNPROCESSABLE_ENTITY = 422,
  HTTP_CODE_TOO_MANY_REQUESTS = 429,
  HTTP_CODE_INTERNAL_SERVER_ERROR = 500,
  HTTP_CODE_SERVICE_UNAVAILABLE = 503
} t_http_codes;

typedef enum { HTTPC_DISABLE_FOLLOW_REDIRECTS, HTTPC_STRICT_FOLLOW_REDIRECTS, HTTPC_FORCE_FOLLOW_REDIRECTS } followRedirects_t;

class HTTPClient {
public:
  HTTPClient() {}
  ~HTTPClient();
  bool begin(WiFiClient &client, const String &url);
  bool begin(WiFiClient &client, const String &host, uint16_t port, const String &uri = "/", bool https = false);
#if defined(ESP8266) && ESPCHECK_CORE_VERSION < 30000
  bool begin(const String &url);
  bool begin(const String &url, const String &fingerprint);
#endif
#if defined(ESP32)
  bool begin(const String &url);
  bool begin(const String &url, const char *CAcert);
  bool begin(const String &host, uint16_t port, const String &uri = "/");
#endif
  void end();
  bool connected();
  void setReuse(bool reuse) { reuse_ = reuse; }
  void setUserAgent(const String &ua) { ua_ = ua; }
  void setAuthorization(const char *user, const char *password);
  void setAuthorization(const char *auth) { auth_ = auth ? auth : ""; }
  void setTimeout(uint16_t timeout) { timeout_ = timeout; }
  void setConnectTimeout(int32_t) {}
  void setFollowRedirects(followRedirects_t f) { follow_ = f; }
  void setRedirectLimit(uint16_t limit) { redirect_limit_ = limit; }
  void useHTTP10(bool v = true) { http10_ = v; }
  void addHeader(const String &name, const String &value, bool first = false, bool replace = true);
  void collectHeaders(const char *headerKeys[], const size_t headerKeysCount);
  String header(const char *name);
  bool hasHeader(const char *name);
  int GET();
  int POST(const String &payload);
  int POST(const uint8_t *payload, size_t size);
  int PUT(const String &payload);
  int PUT(const uint8_t *payload, size_t size);
  int PATCH(const String &payload);
  int sendRequest(const char *type, const String &payload);
  int sendRequest(const char *type, const uint8_t *payload = nullptr, size_t size = 0);
  int getSize() { return size_; }
  const String &getLocation() { return location_; }
  WiFiClient &getStream();
  WiFiClient *getStreamPtr();
  String getString();
  int writeToStream(Stream *stream);
  static String errorToString(int error);

private:
  bool parseUrl(const String &url);
  bool setURL(const String &url);
  int sendOnce(const char *type, const uint8_t *payload, size_t size);
  int handleHeaders();
  bool readLine(std::string &line);
  WiFiClient *client_ = nullptr;
  std::unique_ptr<WiFiClient> owned_;
  String host_, uri_ = "/", ua_ = "ESP8266HTTPClient", auth_, headers_, location_;
  uint16_t port_ = 80;
  bool https_ = false, reuse_ = true, http10_ = false;
  uint16_t timeout_ = 5000;
  followRedirects_t follow_ = HTTPC_DISABLE_FOLLOW_REDIRECTS;
  uint16_t redirect_limit_ = 10;
  int code_ = 0, size_ = -1;
  bool chunked_ = false;
  std::vector<std::pair<std::string, std::string>> want_, got_;
};
