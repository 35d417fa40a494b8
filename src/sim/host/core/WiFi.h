// espcheck host core: <WiFi.h> (ESP32; also the ESP8266's compatibility name).
#pragma once
#include "WiFiHost.h"
#include "WiFiClient.h"
#if defined(ESP8266)
#include "WiFiClientSecure.h"
#endif

typedef WiFiHostClass WiFiClass;
extern WiFiHostClass WiFi;
