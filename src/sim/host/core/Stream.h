// espcheck host core: `Stream`, from the Arduino language reference.
#pragma once
#include "Print.h"

class Stream : public Print {
public:
  virtual int available() = 0;
  virtual int read() = 0;
  virtual int peek() = 0;
  using Print::write;
  void setTimeout(unsigned long ms) { timeout_ = ms; }
  unsigned long getTimeout() const { return timeout_; }
  virtual size_t readBytes(char *buf, size_t len);
  size_t readBytes(uint8_t *buf, size_t len) { return readBytes(reinterpret_cast<char *>(buf), len); }
  size_t readBytesUntil(char term, char *buf, size_t len);
  size_t readBytesUntil(char term, uint8_t *buf, size_t len) {
    return readBytesUntil(term, reinterpret_cast<char *>(buf), len);
  }
  String readString();
  String readStringUntil(char term);
  bool find(const char *target);
  bool find(const char *target, size_t len);
  bool find(char c) { char t[2] = {c, 0}; return find(t); }
  bool findUntil(const char *target, const char *term);
  long parseInt();
  float parseFloat();
  // Wait up to `ms` for a byte to read; a network client polls its socket. (Host core only.)
  virtual void waitReadable(unsigned long ms);

protected:
  // Reads one byte, waiting up to the timeout; -1 when none came.
  int timedRead();
  int timedPeek();
  unsigned long timeout_ = 1000;
};
