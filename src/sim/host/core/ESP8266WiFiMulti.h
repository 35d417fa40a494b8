// espcheck host core: <ESP8266WiFiMulti.h>.
#pragma once
#include "ESP8266WiFi.h"
typedef WiFiMultiHost ESP8266WiFiMulti;
