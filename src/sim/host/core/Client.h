// espcheck host core: the `Client` interface every network client implements.
#pragma once
#include "IPAddress.h"
#include "Stream.h"

class Client : public Stream {
public:
  virtual int connect(IPAddress ip, uint16_t port) = 0;
  virtual int connect(const char *host, uint16_t port) = 0;
  int connect(const String &host, uint16_t port) { return connect(host.c_str(), port); }
  using Print::write;
  size_t write(uint8_t c) override { return write(&c, 1); }
  size_t write(const uint8_t *buf, size_t len) override = 0;
  virtual int read(uint8_t *buf, size_t len) = 0;
  int read(char *buf, size_t len) { return read(reinterpret_cast<uint8_t *>(buf), len); }
  int read() override = 0;
  virtual uint8_t connected() = 0;
  virtual void stop() = 0;
  virtual operator bool() = 0;
};
