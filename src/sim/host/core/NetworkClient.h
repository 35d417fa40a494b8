// espcheck host core: <NetworkClient.h> (ESP32 core 3.x).
#pragma once
#include "WiFiClient.h"
