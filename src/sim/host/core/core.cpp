// espcheck host core: Print, Stream, Serial, time, pins, Wi-Fi, TCP and the run itself.
//
// The run is configured by `espcheck sim sketch` through the environment:
//   ESPCHECK_SIM_CONNECT   `*=ADDR:PORT` and/or `HOST=ADDR:PORT`, separated by `;`
//   ESPCHECK_SIM_WIFI      ok | fail | slow
//   ESPCHECK_SIM_TIMEOUT_MS  how long setup() and loop() run
// Serial goes to stdout unbuffered; diagnostics go to stderr as `espcheck sim: ...` lines.
#include "Arduino.h"
#include "WiFiHost.h"
#include "WiFiClient.h"
#include "StackThunk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <string>

void setup();
void loop();

HardwareSerial Serial;
EspClass ESP;
WiFiHostClass WiFi;

// ---- the run ------------------------------------------------------------------------------

static struct timespec g_start;
static unsigned long g_timeout_ms = 10000;
static int g_tls_ok = 0, g_tls_failed = 0;
static bool g_clock_set = false;

static unsigned long elapsed_ms() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned long)((now.tv_sec - g_start.tv_sec) * 1000 + (now.tv_nsec - g_start.tv_nsec) / 1000000);
}

void espcheck_diag(const char *fmt, ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  fprintf(stderr, "espcheck sim: %s\n", line);
  fflush(stderr);
}

void espcheck_tls_result(bool ok) {
  if (ok)
    g_tls_ok++;
  else
    g_tls_failed++;
}

void espcheck_tls_lost() {
  if (g_tls_ok) g_tls_ok--;
  g_tls_failed++;
}

// Exit status read by espcheck: 0 the sketch ran, 5 every TLS session it tried failed.
[[noreturn]] static void finish() {
  fflush(stdout);
  if (g_tls_failed && !g_tls_ok) _exit(5);
  _exit(0);
}

void espcheck_check_deadline() {
  if (elapsed_ms() >= g_timeout_ms) finish();
}

int main() {
  clock_gettime(CLOCK_MONOTONIC, &g_start);
  setvbuf(stdout, nullptr, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);
  if (const char *t = getenv("ESPCHECK_SIM_TIMEOUT_MS")) g_timeout_ms = strtoul(t, nullptr, 10);
  setup();
  for (;;) {
    espcheck_check_deadline();
    unsigned long start = micros();
    loop();
    // A loop() that returns at once would spin a host CPU until the timeout; the board spends
    // that time in its Wi-Fi stack. Give it back a millisecond at a time.
    if (micros() - start < 1000) {
      struct timespec ts = {0, 1000000L};
      nanosleep(&ts, nullptr);
    }
    yield();
  }
}

// ---- time ---------------------------------------------------------------------------------

unsigned long millis() { return elapsed_ms(); }

unsigned long micros() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned long)((now.tv_sec - g_start.tv_sec) * 1000000 + (now.tv_nsec - g_start.tv_nsec) / 1000);
}

void delay(unsigned long ms) {
  // Never sleep past the deadline: the run ends there.
  unsigned long left = g_timeout_ms > elapsed_ms() ? g_timeout_ms - elapsed_ms() : 0;
  if (ms > left) ms = left;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
  espcheck_check_deadline();
}

void delayMicroseconds(unsigned int us) { usleep(us); }
void yield() { espcheck_check_deadline(); }

long random(long max) { return max <= 0 ? 0 : ::random() % max; }
long random(long min, long max) { return max <= min ? min : min + random(max - min); }
void randomSeed(unsigned long seed) { srandom((unsigned)seed); }
long map(long x, long in_min, long in_max, long out_min, long out_max) {
  if (in_max == in_min) return out_min;
  return (x - in_min) * (out_max - out_min) / (in_max - in_min) + out_min;
}

static uint8_t g_pins[64];
void pinMode(uint8_t, uint8_t) {}
void digitalWrite(uint8_t pin, uint8_t val) { g_pins[pin & 63] = val; }
int digitalRead(uint8_t pin) { return g_pins[pin & 63]; }
int analogRead(uint8_t) { return 512; }
void analogWrite(uint8_t, int) {}
void attachInterrupt(uint8_t, void (*)(void), int) {}
void detachInterrupt(uint8_t) {}

#if defined(ESP8266)
// The ESP8266's clock counts from 0 at boot until SNTP sets it (configTime), and BearSSL's X.509
// validation reads it through time(): a sketch that checks a chain without setting the clock
// fails as it fails on the board. This definition takes the place of the C library's.
extern "C" time_t time(time_t *t) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  time_t now = g_clock_set ? tv.tv_sec : (time_t)(elapsed_ms() / 1000);
  if (t) *t = now;
  return now;
}
#endif

void configTime(long, int, const char *server1, const char *, const char *) {
  espcheck_diag("configTime(%s): the host clock is used", server1 ? server1 : "");
  g_clock_set = true;
}

void configTime(const char *, const char *server1, const char *, const char *) {
  configTime(0L, 0, server1, nullptr, nullptr);
}

bool getLocalTime(struct tm *info, uint32_t) {
  time_t now = time(nullptr);
  localtime_r(&now, info);
  return g_clock_set;
}

void EspClass::restart() {
  espcheck_diag("ESP.restart(): the run ends here");
  finish();
}

void EspClass::deepSleep(uint64_t) {
  espcheck_diag("ESP.deepSleep(): the run ends here");
  finish();
}

String EspClass::getCoreVersion() {
#ifdef ESPCHECK_CORE_VERSION_STRING
  return ESPCHECK_CORE_VERSION_STRING;
#else
  return "host";
#endif
}

// ---- Print, Stream, Serial ----------------------------------------------------------------

size_t Print::write(const uint8_t *buf, size_t len) {
  size_t n = 0;
  while (len--) {
    if (!write(*buf++)) break;
    n++;
  }
  return n;
}

size_t Print::print(long v, int base) { return print(String(v, (unsigned char)base)); }
size_t Print::print(unsigned long v, int base) { return print(String(v, (unsigned char)base)); }
size_t Print::print(long long v, int base) { return print(String(v, (unsigned char)base)); }
size_t Print::print(unsigned long long v, int base) { return print(String(v, (unsigned char)base)); }
size_t Print::print(double v, int digits) {
  if (isnan(v)) return print("nan");
  if (isinf(v)) return print("inf");
  return print(String(v, (unsigned char)digits));
}

size_t Print::vprintf(const char *fmt, va_list ap) {
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  if (n <= 0) return 0;
  std::string buf((size_t)n + 1, '\0');
  vsnprintf(&buf[0], buf.size(), fmt, ap);
  return write(reinterpret_cast<const uint8_t *>(buf.data()), (size_t)n);
}

size_t Print::printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

size_t Print::printf_P(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = vprintf(fmt, ap);
  va_end(ap);
  return n;
}

size_t HardwareSerial::write(const uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::write(1, buf + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += (size_t)n;
  }
  return done;
}

void HardwareSerial::flush() {}

void Stream::waitReadable(unsigned long ms) { delay(ms < 1 ? ms : 1); }

int Stream::timedRead() {
  unsigned long start = millis();
  for (;;) {
    int c = read();
    if (c >= 0) return c;
    unsigned long spent = millis() - start;
    if (spent >= timeout_) return -1;
    espcheck_check_deadline();
    waitReadable(timeout_ - spent);
  }
}

int Stream::timedPeek() {
  unsigned long start = millis();
  for (;;) {
    int c = peek();
    if (c >= 0) return c;
    unsigned long spent = millis() - start;
    if (spent >= timeout_) return -1;
    espcheck_check_deadline();
    waitReadable(timeout_ - spent);
  }
}

size_t Stream::readBytes(char *buf, size_t len) {
  size_t n = 0;
  while (n < len) {
    int c = timedRead();
    if (c < 0) break;
    buf[n++] = (char)c;
  }
  return n;
}

size_t Stream::readBytesUntil(char term, char *buf, size_t len) {
  size_t n = 0;
  while (n < len) {
    int c = timedRead();
    if (c < 0 || c == term) break;
    buf[n++] = (char)c;
  }
  return n;
}

String Stream::readString() {
  std::string s;
  int c;
  while ((c = timedRead()) >= 0) s += (char)c;
  return String(s);
}

String Stream::readStringUntil(char term) {
  std::string s;
  int c;
  while ((c = timedRead()) >= 0 && c != term) s += (char)c;
  return String(s);
}

bool Stream::find(const char *target) { return find(target, strlen(target)); }

bool Stream::find(const char *target, size_t len) {
  if (!len) return true;
  size_t matched = 0;
  int c;
  while ((c = timedRead()) >= 0) {
    if ((char)c == target[matched]) {
      if (++matched == len) return true;
    } else {
      matched = (char)c == target[0] ? 1 : 0;
    }
  }
  return false;
}

bool Stream::findUntil(const char *target, const char *term) {
  size_t tl = strlen(target), ul = strlen(term), tm = 0, um = 0;
  int c;
  while ((c = timedRead()) >= 0) {
    tm = (char)c == target[tm] ? tm + 1 : ((char)c == target[0] ? 1 : 0);
    if (tm == tl) return true;
    um = ul && (char)c == term[um] ? um + 1 : 0;
    if (ul && um == ul) return false;
  }
  return false;
}

long Stream::parseInt() {
  int c;
  do {
    c = timedPeek();
    if (c < 0) return 0;
    if (c == '-' || isdigit(c)) break;
    read();
  } while (true);
  bool neg = false;
  long v = 0;
  if (c == '-') {
    neg = true;
    read();
  }
  while ((c = timedPeek()) >= 0 && isdigit(c)) {
    v = v * 10 + (c - '0');
    read();
  }
  return neg ? -v : v;
}

float Stream::parseFloat() {
  std::string s;
  int c;
  do {
    c = timedPeek();
    if (c < 0) return 0;
    if (c == '-' || c == '.' || isdigit(c)) break;
    read();
  } while (true);
  while ((c = timedPeek()) >= 0 && (c == '-' || c == '.' || isdigit(c))) {
    s += (char)c;
    read();
  }
  return strtof(s.c_str(), nullptr);
}

// ---- IPAddress ----------------------------------------------------------------------------

bool IPAddress::fromString(const char *s) {
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1) return false;
  const uint8_t *p = reinterpret_cast<const uint8_t *>(&a.s_addr);
  for (int i = 0; i < 4; i++) b_[i] = p[i];
  return true;
}

String IPAddress::toString() const {
  char buf[16];
  snprintf(buf, sizeof buf, "%u.%u.%u.%u", b_[0], b_[1], b_[2], b_[3]);
  return buf;
}

size_t IPAddress::printTo(Print &p) const { return p.print(toString()); }

// ---- Wi-Fi --------------------------------------------------------------------------------

static const char *wifi_mode() {
  const char *m = getenv("ESPCHECK_SIM_WIFI");
  return m ? m : "ok";
}

wl_status_t WiFiHostClass::begin(const char *ssid, const char *pass, int32_t, const uint8_t *, bool) {
  ssid_ = ssid ? ssid : "";
  pass_ = pass ? pass : "";
  return begin();
}

wl_status_t WiFiHostClass::begin() {
  if (!begun_) espcheck_diag("WiFi.begin(\"%s\"): --wifi %s", ssid_.c_str(), wifi_mode());
  begun_ = true;
  begun_at_ = millis();
  return status();
}

wl_status_t WiFiHostClass::status() {
  if (!begun_) return WL_DISCONNECTED;
  const char *m = wifi_mode();
  if (!strcmp(m, "fail")) return WL_NO_SSID_AVAIL;
  if (!strcmp(m, "slow") && millis() - begun_at_ < 5000) return WL_DISCONNECTED;
  return WL_CONNECTED;
}

bool WiFiHostClass::disconnect(bool) {
  begun_ = false;
  return true;
}

uint8_t WiFiHostClass::waitForConnectResult(unsigned long timeout_ms) {
  unsigned long start = millis();
  while (status() != WL_CONNECTED && millis() - start < timeout_ms) delay(100);
  return status();
}

IPAddress WiFiHostClass::localIP() {
  return status() == WL_CONNECTED ? IPAddress(192, 168, 1, 104) : IPAddress();
}

void WiFiHostClass::printDiag(Print &p) {
  p.print("Mode: STA\r\nSSID (");
  p.print(ssid_.length());
  p.print("): ");
  p.print(ssid_);
  p.print("\r\n");
}

uint8_t *WiFiHostClass::macAddress(uint8_t *mac) {
  const uint8_t m[6] = {0x5c, 0xcf, 0x7f, 0xc0, 0xff, 0xee};
  memcpy(mac, m, 6);
  return mac;
}

int WiFiHostClass::hostByName(const char *host, IPAddress &result) {
  uint16_t port = 0;
  struct sockaddr_storage ss;
  unsigned len = 0;
  String shown;
  if (!espcheck_resolve(host, port, ss, len, shown) || ss.ss_family != AF_INET) return 0;
  result = IPAddress(reinterpret_cast<const uint8_t *>(&reinterpret_cast<sockaddr_in *>(&ss)->sin_addr));
  return 1;
}

bool WiFiMultiHost::addAP(const char *ssid, const char *pass) {
  if (n_ >= 8) return false;
  ssid_[n_] = ssid ? ssid : "";
  pass_[n_] = pass ? pass : "";
  n_++;
  return true;
}

bool WiFiMultiHost::existsAP(const char *ssid, const char *) {
  for (int i = 0; i < n_; i++)
    if (ssid_[i] == ssid) return true;
  return false;
}

wl_status_t WiFiMultiHost::run(uint32_t) {
  if (WiFi.status() == WL_CONNECTED) return WL_CONNECTED;
  if (n_ == 0) return WL_NO_SSID_AVAIL;
  WiFi.begin(ssid_[0].c_str(), pass_[0].c_str());
  return WiFi.status();
}

// ---- name resolution ----------------------------------------------------------------------

static bool parse_addr(const std::string &text, struct sockaddr_storage &ss, unsigned &len, uint16_t &port) {
  std::string host = text, portstr;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size() && text[close + 1] == ':') portstr = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string::npos) {
      host = text.substr(0, colon);
      portstr = text.substr(colon + 1);
    }
  }
  if (!portstr.empty()) port = (uint16_t)strtoul(portstr.c_str(), nullptr, 10);
  memset(&ss, 0, sizeof ss);
  auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
    return true;
  }
  return false;
}

bool espcheck_resolve(const char *host, uint16_t &port, struct sockaddr_storage &ss, unsigned &len, String &shown) {
  std::string want = host ? host : "";
  const char *spec = getenv("ESPCHECK_SIM_CONNECT");
  std::string any, mine;
  if (spec && *spec) {
    std::string all = spec;
    size_t at = 0;
    while (at <= all.size()) {
      size_t end = all.find(';', at);
      if (end == std::string::npos) end = all.size();
      std::string item = all.substr(at, end - at);
      size_t eq = item.find('=');
      if (eq != std::string::npos) {
        std::string name = item.substr(0, eq);
        if (name == "*")
          any = item.substr(eq + 1);
        else if (strcasecmp(name.c_str(), want.c_str()) == 0)
          mine = item.substr(eq + 1);
      }
      at = end + 1;
    }
    const std::string &to = mine.empty() ? any : mine;
    if (!to.empty()) {
      bool ok = parse_addr(to, ss, len, port);
      shown = String(to.c_str());
      return ok;
    }
    if (!mine.empty() || !any.empty()) return false;
  }
  // An address literal needs no lookup; without --connect, real DNS.
  if (parse_addr(want, ss, len, port)) {
    shown = String(want.c_str());
    return true;
  }
  if (spec && *spec) {
    // --connect named other hosts only: this one has no address on the simulated network.
    espcheck_diag("DNS: %s does not resolve (no --connect for it)", want.c_str());
    return false;
  }
  struct addrinfo hints, *res = nullptr;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(want.c_str(), nullptr, &hints, &res) != 0 || !res) {
    espcheck_diag("DNS: %s does not resolve", want.c_str());
    return false;
  }
  memcpy(&ss, res->ai_addr, res->ai_addrlen);
  len = res->ai_addrlen;
  freeaddrinfo(res);
  if (ss.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in *>(&ss)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port = htons(port);
  shown = String(want.c_str()) + ":" + String((unsigned)port);
  return true;
}

// ---- WiFiClient ---------------------------------------------------------------------------

WiFiClient::~WiFiClient() { tcpClose(); }

bool WiFiClient::tcpConnect(const char *host, uint16_t port) {
  tcpClose();
  if (WiFi.status() != WL_CONNECTED) {
    espcheck_diag("connect(%s, %u): Wi-Fi is not connected", host, port);
    return false;
  }
  struct sockaddr_storage ss;
  unsigned len = 0;
  String shown;
  if (!espcheck_resolve(host, port, ss, len, shown)) return false;
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Connect with the Stream timeout as the bound, like the cores' connect timeout.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int r = ::connect(fd, reinterpret_cast<sockaddr *>(&ss), len);
  if (r < 0 && errno == EINPROGRESS) {
    struct pollfd p = {fd, POLLOUT, 0};
    unsigned long left = g_timeout_ms > elapsed_ms() ? g_timeout_ms - elapsed_ms() : 0;
    unsigned long wait = timeout_ < 5000 ? 5000 : timeout_;
    r = poll(&p, 1, (int)(wait < left ? wait : left));
    int err = 0;
    socklen_t el = sizeof err;
    if (r == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
    r = (r == 1 && err == 0) ? 0 : -1;
    if (r < 0) errno = err ? err : ETIMEDOUT;
  }
  if (r < 0) {
    espcheck_diag("TCP connect to %s (%s) failed: %s", host, shown.c_str(), strerror(errno));
    close(fd);
    espcheck_check_deadline();
    return false;
  }
  fd_ = fd;
  if (ss.ss_family == AF_INET)
    remote_ = IPAddress(reinterpret_cast<const uint8_t *>(&reinterpret_cast<sockaddr_in *>(&ss)->sin_addr));
  rport_ = port;
  peeked_ = -1;
  return true;
}

void WiFiClient::tcpClose() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  peeked_ = -1;
}

int WiFiClient::sockRead(uint8_t *buf, size_t len, bool block) {
  if (fd_ < 0) return -1;
  if (block) {
    struct pollfd p = {fd_, POLLIN, 0};
    unsigned long left = g_timeout_ms > elapsed_ms() ? g_timeout_ms - elapsed_ms() : 0;
    unsigned long wait = timeout_ < left ? timeout_ : left;
    int r = poll(&p, 1, (int)wait);
    if (r == 0) {
      espcheck_check_deadline();
      return 0;
    }
  }
  ssize_t n = recv(fd_, buf, len, MSG_DONTWAIT);
  if (n > 0) return (int)n;
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return 0;
  return -1;
}

bool WiFiClient::sockWriteAll(const uint8_t *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    if (fd_ < 0) return false;
    ssize_t n = send(fd_, buf + done, len - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += (size_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      struct pollfd p = {fd_, POLLOUT, 0};
      if (poll(&p, 1, (int)timeout_) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool WiFiClient::sockPeerOpen() {
  if (fd_ < 0) return false;
  uint8_t b;
  ssize_t n = recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return false;
  if (n < 0 && !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  return true;
}

int WiFiClient::connect(IPAddress ip, uint16_t port) { return connect(ip.toString().c_str(), port); }

int WiFiClient::connect(const char *host, uint16_t port) { return tcpConnect(host, port) ? 1 : 0; }

size_t WiFiClient::write(const uint8_t *buf, size_t len) { return sockWriteAll(buf, len) ? len : 0; }

int WiFiClient::available() {
  if (fd_ < 0) return 0;
  int n = 0;
  if (ioctl(fd_, FIONREAD, &n) < 0) return 0;
  return n + (peeked_ >= 0 ? 1 : 0);
}

int WiFiClient::read() {
  if (peeked_ >= 0) {
    int c = peeked_;
    peeked_ = -1;
    return c;
  }
  uint8_t b;
  return sockRead(&b, 1, false) == 1 ? b : -1;
}

int WiFiClient::read(uint8_t *buf, size_t len) {
  if (!len) return 0;
  size_t off = 0;
  if (peeked_ >= 0) {
    buf[off++] = (uint8_t)peeked_;
    peeked_ = -1;
  }
  int n = sockRead(buf + off, len - off, false);
  if (n <= 0) return off ? (int)off : -1;
  return (int)(off + n);
}

int WiFiClient::peek() {
  if (peeked_ < 0) {
    uint8_t b;
    if (sockRead(&b, 1, false) == 1) peeked_ = b;
  }
  return peeked_;
}

uint8_t WiFiClient::connected() {
  if (fd_ < 0) return 0;
  return available() > 0 || sockPeerOpen();
}

void WiFiClient::stop() { tcpClose(); }

IPAddress WiFiClient::localIP() { return WiFi.localIP(); }

void WiFiClient::waitReadable(unsigned long ms) {
  unsigned long left = g_timeout_ms > elapsed_ms() ? g_timeout_ms - elapsed_ms() : 0;
  if (ms > left) ms = left;
  if (fd_ >= 0) {
    struct pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, (int)(ms < 50 ? ms : 50)) == 1 && available() > 0) return;
    if (sockPeerOpen()) return;
  }
  // Closed: nothing will come; wait as the board does, a little at a time.
  delay(ms < 10 ? ms : 10);
}

// StackThunk: BearSSL runs on the host's own stack, so there is no second stack to report on.
static uint32_t stack_thunk_refs = 0;
extern "C" void stack_thunk_add_ref() { stack_thunk_refs++; }
extern "C" void stack_thunk_del_ref() {
    if (stack_thunk_refs > 0) stack_thunk_refs--;
}
extern "C" void stack_thunk_repaint() {}
extern "C" uint32_t stack_thunk_get_refcnt() { return stack_thunk_refs; }
extern "C" uint32_t stack_thunk_get_stack_top() { return 0; }
extern "C" uint32_t stack_thunk_get_stack_bot() { return 0; }
extern "C" uint32_t stack_thunk_get_cont_sp() { return 0; }
extern "C" uint32_t stack_thunk_get_max_usage() { return 0; }
extern "C" void stack_thunk_dump_stack() {}
