// espcheck host core: <ESP8266WiFiMulti.h>.
#pragma once
#include "ESP8266WiFi.h"
class ESP8266WiFiMulti : public WiFiMultiHost {};
