// espcheck host core: <Network.h> (ESP32 core 3.x).
#pragma once
#include "WiFi.h"
