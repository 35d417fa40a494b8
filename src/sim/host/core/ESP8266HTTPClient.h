// espcheck host core: <ESP8266HTTPClient.h>.
#pragma once
#include "ESP8266WiFi.h"
#include "HTTPClient.h"
