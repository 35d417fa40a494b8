// espcheck host core: <NetworkClientSecure.h> (ESP32 core 3.x).
#pragma once
#include "WiFiClientSecure.h"
