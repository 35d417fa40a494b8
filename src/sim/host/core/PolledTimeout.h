// espcheck host core: the ESP8266 core's esp8266::polledTimeout (timers a sketch polls), written
// from its documented interface: oneShot / periodic in ms, and the Fast variants in µs and ns.
#pragma once
#include <stdint.h>
#include <limits>

unsigned long millis();
unsigned long micros();
void yield();

namespace esp8266 {
namespace polledTimeout {

namespace YieldPolicy {
struct DoNothing {
    static void execute() {}
};
struct YieldOrSkip {
    static void execute() { yield(); }
};
}  // namespace YieldPolicy

namespace TimePolicy {
struct TimeMillis {
    typedef unsigned long timeType;
    static timeType time() { return millis(); }
    static constexpr timeType toUnit(timeType ms) { return ms; }
};
struct TimeFastMicros {
    typedef unsigned long timeType;
    static timeType time() { return micros(); }
    static constexpr timeType toUnit(timeType us) { return us; }
};
struct TimeFastNanos {
    typedef unsigned long long timeType;
    static timeType time() { return (unsigned long long)micros() * 1000ULL; }
    static constexpr timeType toUnit(timeType ns) { return ns; }
};
}  // namespace TimePolicy

template <bool Periodic, typename YieldPolicyT = YieldPolicy::DoNothing,
          typename TimePolicyT = TimePolicy::TimeMillis>
class timeoutTemplate {
  public:
    typedef typename TimePolicyT::timeType timeType;
    static constexpr timeType neverExpires = std::numeric_limits<timeType>::max();
    static constexpr timeType alwaysExpired = 0;

    timeoutTemplate() : _timeout(neverExpires) { reset(); }
    explicit timeoutTemplate(timeType userTimeout) : _timeout(userTimeout) { reset(); }

    bool expired() {
        YieldPolicyT::execute();
        return Periodic ? expiredRetrigger() : expiredOneShot();
    }
    operator bool() { return expired(); }
    bool canExpire() const { return !_neverExpires; }
    bool canWait() const { return _timeout != alwaysExpired; }

    void reset(timeType newUserTimeout) {
        _timeout = newUserTimeout;
        reset();
    }
    void reset() {
        _neverExpires = _timeout == neverExpires;
        _start = TimePolicyT::time();
    }
    void resetToNeverExpires() {
        _timeout = neverExpires;
        reset();
    }
    void resetAndSetExpired() {
        reset();
        _start -= _timeout;
    }
    timeType getTimeout() const { return _timeout; }
    static constexpr timeType timeMax() { return neverExpires - 1; }
    bool checkExpired(timeType now) const {
        return !_neverExpires && (timeType)(now - _start) >= _timeout;
    }

  protected:
    bool expiredRetrigger() {
        if (!canWait()) return true;
        timeType now = TimePolicyT::time();
        if (!checkExpired(now)) return false;
        timeType elapsed = (timeType)(now - _start);
        _start += (elapsed / _timeout) * _timeout;
        return true;
    }
    bool expiredOneShot() const { return !canWait() || checkExpired(TimePolicyT::time()); }

    timeType _timeout;
    timeType _start = 0;
    bool _neverExpires = false;
};

typedef timeoutTemplate<false> oneShotMs;
typedef timeoutTemplate<true> periodicMs;
typedef oneShotMs oneShot;
typedef periodicMs periodic;
typedef timeoutTemplate<false, YieldPolicy::YieldOrSkip> oneShotYieldMs;
typedef timeoutTemplate<false, YieldPolicy::DoNothing, TimePolicy::TimeFastMicros> oneShotFastUs;
typedef timeoutTemplate<true, YieldPolicy::DoNothing, TimePolicy::TimeFastMicros> periodicFastUs;
typedef timeoutTemplate<false> oneShotFastMs;
typedef timeoutTemplate<true> periodicFastMs;
typedef timeoutTemplate<false, YieldPolicy::DoNothing, TimePolicy::TimeFastNanos> oneShotFastNs;
typedef timeoutTemplate<true, YieldPolicy::DoNothing, TimePolicy::TimeFastNanos> periodicFastNs;

}  // namespace polledTimeout
}  // namespace esp8266
