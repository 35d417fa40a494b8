// espcheck host core: the Arduino API a sketch sees, written from the public Arduino and
// ESP8266/ESP32 core documentation. See docs/SIM_SKETCH.md for what is implemented.
#pragma once
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <algorithm>

#include "pgmspace.h"
#include "WString.h"
#include "Print.h"
#include "Stream.h"
#include "IPAddress.h"

typedef uint8_t byte;
typedef bool boolean;
typedef unsigned int word;

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x00
#define OUTPUT 0x01
#define INPUT_PULLUP 0x02
#ifndef LED_BUILTIN
#define LED_BUILTIN 2
#endif
#ifndef BUILTIN_LED
#define BUILTIN_LED LED_BUILTIN  // the old name the ESP8266 core still accepts
#endif
#if defined(ESP8266)
// The pin names printed on NodeMCU and Wemos D1 mini boards (their variants' GPIO numbers).
static const uint8_t D0 = 16, D1 = 5, D2 = 4, D3 = 0, D4 = 2, D5 = 14, D6 = 12, D7 = 13,
                     D8 = 15, D9 = 3, D10 = 1;
static const uint8_t SDA = 4, SCL = 5, RX = 3, TX = 1, A0 = 17;
#endif
#define PI 3.1415926535897932384626433832795
#define HALF_PI 1.5707963267948966192313216916398
#define TWO_PI 6.283185307179586476925286766559
#define DEG_TO_RAD 0.017453292519943295769236907684886
#define RAD_TO_DEG 57.295779513082320876798154814105

using std::max;
using std::min;
#define _min(a, b) ((a) < (b) ? (a) : (b))
#define _max(a, b) ((a) > (b) ? (a) : (b))
#define constrain(x, lo, hi) ((x) < (lo) ? (lo) : ((x) > (hi) ? (hi) : (x)))
#define sq(x) ((x) * (x))
#define lowByte(w) ((uint8_t)((w)&0xff))
#define highByte(w) ((uint8_t)((w) >> 8))
#define bitRead(v, b) (((v) >> (b)) & 0x01)
#define bitSet(v, b) ((v) |= (1UL << (b)))
#define bitClear(v, b) ((v) &= ~(1UL << (b)))
#define bitWrite(v, b, x) ((x) ? bitSet(v, b) : bitClear(v, b))
#define bit(b) (1UL << (b))

// The cores' non-ISO conversions (stdlib_noniso).
char *dtostrf(double value, signed char width, unsigned char prec, char *out);
char *itoa(int value, char *out, int base);
char *ltoa(long value, char *out, int base);
char *utoa(unsigned value, char *out, int base);
char *ultoa(unsigned long value, char *out, int base);

// Attributes that place code in RAM or flash on the chip; nothing on the host.
#define IRAM_ATTR
#define ICACHE_RAM_ATTR
#define ICACHE_FLASH_ATTR
#define interrupts()
#define noInterrupts()

unsigned long millis();
unsigned long micros();
void delay(unsigned long ms);
void delayMicroseconds(unsigned int us);
void yield();
long random(long max);
long random(long min, long max);
void randomSeed(unsigned long seed);
long map(long x, long in_min, long in_max, long out_min, long out_max);

// Pins: there is no hardware; writes are remembered, reads return what was written (LOW else).
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
int digitalRead(uint8_t pin);
int analogRead(uint8_t pin);
void analogWrite(uint8_t pin, int val);
// Interrupts: accepted; with no hardware, a pin never changes on its own, so none fires.
#define CHANGE 1
#define FALLING 2
#define RISING 3
#define digitalPinToInterrupt(p) ((int)(p))
void attachInterrupt(uint8_t interruptNum, void (*handler)(void), int mode);
void detachInterrupt(uint8_t interruptNum);

// configTime(tz offset, dst offset, servers...): the host clock is already set, so time(nullptr)
// is the real time at once, as after a successful SNTP sync.
void configTime(long gmtOffset_sec, int daylightOffset_sec, const char *server1,
                const char *server2 = nullptr, const char *server3 = nullptr);
void configTime(const char *tz, const char *server1, const char *server2 = nullptr,
                const char *server3 = nullptr);
bool getLocalTime(struct tm *info, uint32_t ms = 5000);

class HardwareSerial : public Stream {
public:
  void begin(unsigned long baud) { (void)baud; }
  void begin(unsigned long baud, int config) { (void)baud; (void)config; }
  void end() {}
  void setDebugOutput(bool) {}
  int available() override { return 0; }
  int read() override { return -1; }
  int peek() override { return -1; }
  size_t write(uint8_t c) override { return write(&c, 1); }
  size_t write(const uint8_t *buf, size_t len) override;
  using Print::write;
  void flush() override;
  explicit operator bool() const { return true; }
};
extern HardwareSerial Serial;

class EspClass {
public:
  void restart();
  void reset() { restart(); }
  void deepSleep(uint64_t us);
  uint32_t getFreeHeap() { return 40000; }
  uint32_t getChipId() { return 0x00c0ffee; }
  uint64_t getEfuseMac() { return 0x0000c0ffee000000ULL; }
  const char *getSdkVersion() { return "espcheck-host"; }
  String getCoreVersion();
  uint32_t getCpuFreqMHz() { return 80; }
  String getResetReason() { return "External System"; }
  uint32_t getCycleCount() { return (uint32_t)micros() * 80; }
  void wdtFeed() {}
  void wdtEnable(uint32_t = 0) {}
  void wdtDisable() {}
  uint32_t getFlashChipSize() { return 4 * 1024 * 1024; }
  uint32_t getFlashChipRealSize() { return 4 * 1024 * 1024; }
  uint16_t getVcc() { return 3300; }
  uint32_t getMaxFreeBlockSize() { return 30000; }
  uint8_t getHeapFragmentation() { return 5; }
  String getFullVersion() { return "espcheck host core"; }
  // ESP8266: the continuation stack (4 KiB on the chip; the host reports it as unused).
  uint32_t getFreeContStack() { return 4096 - 256; }
  void resetFreeContStack() {}
  uint32_t getSketchSize() { return 400000; }
  uint32_t getFreeSketchSpace() { return 1600000; }
  uint32_t getFlashChipId() { return 0x1640e0; }
  uint32_t getFlashChipSpeed() { return 40000000; }
  uint8_t getBootVersion() { return 31; }
  String getResetInfo() { return "Fatal exception:0 flag:6 (EXT_SYS_RST)"; }
  // ESP32: heap and chip figures.
  uint32_t getHeapSize() { return 320000; }
  uint32_t getMinFreeHeap() { return 35000; }
  uint32_t getMaxAllocHeap() { return 30000; }
  uint32_t getPsramSize() { return 0; }
  uint32_t getFreePsram() { return 0; }
  const char *getChipModel() { return "ESP32-D0WD-V3"; }
  uint8_t getChipRevision() { return 3; }
  uint8_t getChipCores() { return 2; }
};
extern EspClass ESP;

#define ESPCHECK_HOST_CORE 1
