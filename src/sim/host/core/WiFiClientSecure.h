// espcheck host core: <WiFiClientSecure.h>. On the ESP8266 the BearSSL client (and, for cores
// before 2.5, the axTLS one); on the ESP32 the mbedTLS one.
#pragma once
#if defined(ESP8266)
#include "WiFiClientSecureBearSSL.h"
#else
#include "WiFiClientSecureMbedTLS.h"
#endif
