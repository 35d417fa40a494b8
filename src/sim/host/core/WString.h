// espcheck host core: the Arduino `String` class, written from the Arduino language reference.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string>

class __FlashStringHelper;
#define FPSTR(p) (reinterpret_cast<const __FlashStringHelper *>(p))
#define F(s) FPSTR(s)

class String {
public:
  String() {}
  String(const char *s) : s_(s ? s : "") {}
  String(const char *s, size_t n) : s_(s ? s : "", s ? n : 0) {}
  String(const __FlashStringHelper *s) : s_(s ? reinterpret_cast<const char *>(s) : "") {}
  String(const String &o) = default;
  String(String &&o) = default;
  String(const std::string &s) : s_(s) {}
  explicit String(char c) : s_(1, c) {}
  explicit String(unsigned char v, unsigned char base = 10);
  explicit String(int v, unsigned char base = 10);
  explicit String(unsigned int v, unsigned char base = 10);
  explicit String(long v, unsigned char base = 10);
  explicit String(unsigned long v, unsigned char base = 10);
  explicit String(long long v, unsigned char base = 10);
  explicit String(unsigned long long v, unsigned char base = 10);
  explicit String(float v, unsigned char decimals = 2);
  explicit String(double v, unsigned char decimals = 2);
  String &operator=(const String &o) = default;
  String &operator=(String &&o) = default;
  String &operator=(const char *s) { s_ = s ? s : ""; return *this; }
  String &operator=(const __FlashStringHelper *s) { return *this = String(s); }

  unsigned int length() const { return (unsigned int)s_.size(); }
  bool isEmpty() const { return s_.empty(); }
  const char *c_str() const { return s_.c_str(); }
  char *begin() { return &s_[0]; }
  char *end() { return &s_[0] + s_.size(); }
  const char *begin() const { return s_.c_str(); }
  const char *end() const { return s_.c_str() + s_.size(); }
  bool reserve(unsigned int n) { s_.reserve(n); return true; }
  explicit operator bool() const { return true; }

  bool concat(const String &o) { s_ += o.s_; return true; }
  bool concat(const char *s) { if (!s) return false; s_ += s; return true; }
  bool concat(const char *s, unsigned int n) { if (!s) return false; s_.append(s, n); return true; }
  bool concat(const __FlashStringHelper *s) { return concat(reinterpret_cast<const char *>(s)); }
  bool concat(char c) { s_ += c; return true; }
  bool concat(unsigned char v) { return concat(String(v)); }
  bool concat(int v) { return concat(String(v)); }
  bool concat(unsigned int v) { return concat(String(v)); }
  bool concat(long v) { return concat(String(v)); }
  bool concat(unsigned long v) { return concat(String(v)); }
  bool concat(long long v) { return concat(String(v)); }
  bool concat(unsigned long long v) { return concat(String(v)); }
  bool concat(float v) { return concat(String(v)); }
  bool concat(double v) { return concat(String(v)); }
  template <typename T> String &operator+=(const T &v) { concat(v); return *this; }

  int compareTo(const String &o) const { return s_.compare(o.s_); }
  bool equals(const String &o) const { return s_ == o.s_; }
  bool equals(const char *s) const { return s && s_ == s; }
  bool equalsIgnoreCase(const String &o) const;
  bool equalsConstantTime(const String &o) const { return equals(o); }
  bool operator==(const String &o) const { return equals(o); }
  bool operator==(const char *s) const { return equals(s); }
  bool operator!=(const String &o) const { return !equals(o); }
  bool operator!=(const char *s) const { return !equals(s); }
  bool operator<(const String &o) const { return s_ < o.s_; }
  bool operator>(const String &o) const { return s_ > o.s_; }
  bool operator<=(const String &o) const { return s_ <= o.s_; }
  bool operator>=(const String &o) const { return s_ >= o.s_; }
  bool startsWith(const String &p) const { return s_.compare(0, p.s_.size(), p.s_) == 0; }
  bool startsWith(const String &p, unsigned int off) const;
  bool endsWith(const String &p) const;

  char charAt(unsigned int i) const { return i < s_.size() ? s_[i] : 0; }
  void setCharAt(unsigned int i, char c) { if (i < s_.size()) s_[i] = c; }
  char operator[](unsigned int i) const { return charAt(i); }
  char &operator[](unsigned int i);
  void getBytes(unsigned char *buf, unsigned int size, unsigned int index = 0) const;
  void toCharArray(char *buf, unsigned int size, unsigned int index = 0) const {
    getBytes(reinterpret_cast<unsigned char *>(buf), size, index);
  }

  int indexOf(char c, unsigned int from = 0) const;
  int indexOf(const String &s, unsigned int from = 0) const;
  int indexOf(const char *s, unsigned int from = 0) const { return indexOf(String(s), from); }
  int lastIndexOf(char c) const;
  int lastIndexOf(char c, unsigned int from) const;
  int lastIndexOf(const String &s) const;
  int lastIndexOf(const String &s, unsigned int from) const;
  String substring(unsigned int from) const { return substring(from, length()); }
  String substring(unsigned int from, unsigned int to) const;

  void replace(char find, char with);
  void replace(const String &find, const String &with);
  void remove(unsigned int index) { remove(index, (unsigned int)-1); }
  void remove(unsigned int index, unsigned int count);
  void toLowerCase();
  void toUpperCase();
  void trim();
  long toInt() const;
  float toFloat() const;
  double toDouble() const;

  const std::string &std() const { return s_; }

private:
  std::string s_;
};

String operator+(const String &a, const String &b);
String operator+(const String &a, const char *b);
String operator+(const String &a, const __FlashStringHelper *b);
String operator+(const String &a, char b);
String operator+(const String &a, unsigned char b);
String operator+(const String &a, int b);
String operator+(const String &a, unsigned int b);
String operator+(const String &a, long b);
String operator+(const String &a, unsigned long b);
String operator+(const String &a, long long b);
String operator+(const String &a, unsigned long long b);
String operator+(const String &a, float b);
String operator+(const String &a, double b);
String operator+(const char *a, const String &b);
String operator+(const __FlashStringHelper *a, const String &b);
String operator+(char a, const String &b);
inline bool operator==(const char *a, const String &b) { return b == a; }
inline bool operator!=(const char *a, const String &b) { return b != a; }
