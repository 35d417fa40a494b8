// espcheck host core: `String`.
#include "Arduino.h"
#include "WString.h"
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static std::string utoa_base(unsigned long long v, unsigned base) {
  if (base < 2 || base > 36) base = 10;
  char buf[72];
  int i = sizeof(buf) - 1;
  buf[i] = 0;
  do {
    unsigned d = v % base;
    buf[--i] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v);
  return std::string(buf + i);
}

static std::string itoa_base(long long v, unsigned base) {
  if (v < 0 && base == 10) return "-" + utoa_base(0ULL - (unsigned long long)v, base);
  return utoa_base((unsigned long long)v, base);
}

static std::string dtostr(double v, unsigned char decimals) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.*f", (int)decimals, v);
  return buf;
}

String::String(unsigned char v, unsigned char base) : s_(utoa_base(v, base)) {}
String::String(int v, unsigned char base) : s_(base == 10 ? itoa_base(v, base) : utoa_base((unsigned)v, base)) {}
String::String(unsigned int v, unsigned char base) : s_(utoa_base(v, base)) {}
String::String(long v, unsigned char base)
    : s_(base == 10 ? itoa_base(v, base) : utoa_base((unsigned long)v, base)) {}
String::String(unsigned long v, unsigned char base) : s_(utoa_base(v, base)) {}
String::String(long long v, unsigned char base)
    : s_(base == 10 ? itoa_base(v, base) : utoa_base((unsigned long long)v, base)) {}
String::String(unsigned long long v, unsigned char base) : s_(utoa_base(v, base)) {}
String::String(float v, unsigned char decimals) : s_(dtostr(v, decimals)) {}
String::String(double v, unsigned char decimals) : s_(dtostr(v, decimals)) {}

bool String::equalsIgnoreCase(const String &o) const {
  if (s_.size() != o.s_.size()) return false;
  for (size_t i = 0; i < s_.size(); i++)
    if (tolower((unsigned char)s_[i]) != tolower((unsigned char)o.s_[i])) return false;
  return true;
}

bool String::startsWith(const String &p, unsigned int off) const {
  if (off > s_.size()) return false;
  return s_.compare(off, p.s_.size(), p.s_) == 0;
}

bool String::endsWith(const String &p) const {
  return p.s_.size() <= s_.size() && s_.compare(s_.size() - p.s_.size(), p.s_.size(), p.s_) == 0;
}

char &String::operator[](unsigned int i) {
  static char dummy;
  if (i >= s_.size()) {
    dummy = 0;
    return dummy;
  }
  return s_[i];
}

void String::getBytes(unsigned char *buf, unsigned int size, unsigned int index) const {
  if (!buf || !size) return;
  if (index >= s_.size()) {
    buf[0] = 0;
    return;
  }
  size_t n = s_.size() - index;
  if (n > size - 1) n = size - 1;
  memcpy(buf, s_.data() + index, n);
  buf[n] = 0;
}

int String::indexOf(char c, unsigned int from) const {
  size_t at = s_.find(c, from);
  return at == std::string::npos ? -1 : (int)at;
}

int String::indexOf(const String &s, unsigned int from) const {
  if (from > s_.size()) return -1;
  size_t at = s_.find(s.s_, from);
  return at == std::string::npos ? -1 : (int)at;
}

int String::lastIndexOf(char c) const { return lastIndexOf(c, s_.size() ? s_.size() - 1 : 0); }

int String::lastIndexOf(char c, unsigned int from) const {
  if (s_.empty()) return -1;
  size_t at = s_.rfind(c, from);
  return at == std::string::npos ? -1 : (int)at;
}

int String::lastIndexOf(const String &s) const { return lastIndexOf(s, s_.size()); }

int String::lastIndexOf(const String &s, unsigned int from) const {
  size_t at = s_.rfind(s.s_, from);
  return at == std::string::npos ? -1 : (int)at;
}

String String::substring(unsigned int from, unsigned int to) const {
  if (from > to) std::swap(from, to);
  if (from >= s_.size()) return String();
  if (to > s_.size()) to = s_.size();
  return String(s_.substr(from, to - from));
}

void String::replace(char find, char with) {
  for (auto &c : s_)
    if (c == find) c = with;
}

void String::replace(const String &find, const String &with) {
  if (find.s_.empty()) return;
  size_t at = 0;
  while ((at = s_.find(find.s_, at)) != std::string::npos) {
    s_.replace(at, find.s_.size(), with.s_);
    at += with.s_.size();
  }
}

void String::remove(unsigned int index, unsigned int count) {
  if (index >= s_.size()) return;
  s_.erase(index, count);
}

void String::toLowerCase() {
  for (auto &c : s_) c = (char)tolower((unsigned char)c);
}

void String::toUpperCase() {
  for (auto &c : s_) c = (char)toupper((unsigned char)c);
}

void String::trim() {
  size_t b = 0, e = s_.size();
  while (b < e && isspace((unsigned char)s_[b])) b++;
  while (e > b && isspace((unsigned char)s_[e - 1])) e--;
  s_ = s_.substr(b, e - b);
}

long String::toInt() const { return strtol(s_.c_str(), nullptr, 10); }
float String::toFloat() const { return strtof(s_.c_str(), nullptr); }
double String::toDouble() const { return strtod(s_.c_str(), nullptr); }

String operator+(const String &a, const String &b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, const char *b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, const __FlashStringHelper *b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, char b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, unsigned char b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, int b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, unsigned int b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, long b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, unsigned long b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, long long b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, unsigned long long b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, float b) { String r(a); r.concat(b); return r; }
String operator+(const String &a, double b) { String r(a); r.concat(b); return r; }
String operator+(const char *a, const String &b) { String r(a); r.concat(b); return r; }
String operator+(const __FlashStringHelper *a, const String &b) { String r(a); r.concat(b); return r; }
String operator+(char a, const String &b) { String r(a); r.concat(b); return r; }

// Arduino's "no address" (kept out of core.cpp, where the C library's INADDR_NONE macro lives).
#include "IPAddress.h"
const IPAddress INADDR_NONE(0, 0, 0, 0);

char *dtostrf(double value, signed char width, unsigned char prec, char *out) {
  sprintf(out, "%*.*f", (int)width, (int)prec, value);
  return out;
}

static char *to_base(unsigned long long v, bool neg, char *out, int base) {
  std::string s = (neg ? "-" : "") + utoa_base(v, (unsigned)base);
  memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

char *ltoa(long value, char *out, int base) {
  if (base == 10 && value < 0) return to_base(0ULL - (unsigned long long)value, true, out, base);
  return to_base((unsigned long)value, false, out, base);
}
char *itoa(int value, char *out, int base) { return ltoa(value, out, base); }
char *utoa(unsigned value, char *out, int base) { return to_base(value, false, out, base); }
char *ultoa(unsigned long value, char *out, int base) { return to_base(value, false, out, base); }
