// espcheck host core: <ESP8266WiFi.h>.
#pragma once
#include "WiFiHost.h"
#include "WiFiClient.h"
#include "WiFiClientSecure.h"

typedef WiFiHostClass ESP8266WiFiClass;
extern WiFiHostClass WiFi;
