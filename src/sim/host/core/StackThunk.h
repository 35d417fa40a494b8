// espcheck host core: the ESP8266 core's StackThunk API (the separate stack BearSSL runs on).
// The host has no second stack, so the figures describe nothing: the depth used is 0.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif
void stack_thunk_add_ref();
void stack_thunk_del_ref();
void stack_thunk_repaint();
uint32_t stack_thunk_get_refcnt();
uint32_t stack_thunk_get_stack_top();
uint32_t stack_thunk_get_stack_bot();
uint32_t stack_thunk_get_cont_sp();
uint32_t stack_thunk_get_max_usage();
void stack_thunk_dump_stack();
#ifdef __cplusplus
}
#endif
