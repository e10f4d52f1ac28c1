// ThreadSanitizer builds only (CHROMAWAL_SANITIZE=thread): makes timed mutex locks visible to
// TSan.
//
// libstdc++ (GCC 11+) implements std::timed_mutex::try_lock_for / try_lock_until with
// pthread_mutex_clocklock(CLOCK_MONOTONIC), which the TSan runtimes shipped with GCC 12 and
// clang 14 do not intercept. TSan then never sees the lock taken, reports every unlock as
// "unlock of an unlocked mutex", and, worse, models no happens-before through that mutex, so it
// could both invent races and miss real ones. This definition, linked into the test
// executables, takes precedence over glibc's and forwards to pthread_mutex_timedlock (which
// TSan does intercept), converting the monotonic deadline into a realtime one. Nothing is
// suppressed: TSan checks every access of the library with the locks it really takes.
#include <pthread.h>
#include <time.h>

extern "C" int pthread_mutex_clocklock(pthread_mutex_t* mutex, clockid_t clock, const struct timespec* abstime) {
    if (clock == CLOCK_REALTIME) return pthread_mutex_timedlock(mutex, abstime);
    timespec now_clock{}, now_real{};
    clock_gettime(clock, &now_clock);
    clock_gettime(CLOCK_REALTIME, &now_real);
    constexpr long long ns = 1000000000LL;
    long long left = (static_cast<long long>(abstime->tv_sec) - now_clock.tv_sec) * ns +
                     (static_cast<long long>(abstime->tv_nsec) - now_clock.tv_nsec);
    if (left < 0) left = 0;
    const long long at = static_cast<long long>(now_real.tv_sec) * ns + now_real.tv_nsec + left;
    timespec deadline{};
    deadline.tv_sec = static_cast<time_t>(at / ns);
    deadline.tv_nsec = static_cast<long>(at % ns);
    return pthread_mutex_timedlock(mutex, &deadline);
}
