// espcheck host core: `IPAddress` (IPv4), from the Arduino language reference.
#pragma once
#include <stdint.h>
#include "Printable.h"

class IPAddress : public Printable {
public:
  IPAddress() : b_{0, 0, 0, 0} {}
  IPAddress(uint8_t a, uint8_t b, uint8_t c, uint8_t d) : b_{a, b, c, d} {}
  IPAddress(uint32_t v) { for (int i = 0; i < 4; i++) b_[i] = (v >> (8 * i)) & 0xff; }
  IPAddress(const uint8_t *p) { for (int i = 0; i < 4; i++) b_[i] = p[i]; }
  operator uint32_t() const { return b_[0] | (b_[1] << 8) | (b_[2] << 16) | ((uint32_t)b_[3] << 24); }
  bool operator==(const IPAddress &o) const { return (uint32_t)*this == (uint32_t)o; }
  bool operator!=(const IPAddress &o) const { return !(*this == o); }
  uint8_t operator[](int i) const { return b_[i & 3]; }
  uint8_t &operator[](int i) { return b_[i & 3]; }
  bool fromString(const char *s);
  bool fromString(const String &s) { return fromString(s.c_str()); }
  bool isSet() const { return (uint32_t)*this != 0; }
  String toString() const;
  size_t printTo(Print &p) const override;

private:
  uint8_t b_[4];
};

extern const IPAddress INADDR_NONE;
