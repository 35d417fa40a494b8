// espcheck host core: <WiFiMulti.h> (ESP32).
#pragma once
#include "WiFi.h"
class WiFiMulti : public WiFiMultiHost {};
