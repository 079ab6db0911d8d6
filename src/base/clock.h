/* Time and the per-op-type profile. */
#ifndef LRP_CLOCK_H
#define LRP_CLOCK_H

/* Seconds on the monotonic clock. */
double lrp_now(void);

/* Adds seconds to the label `what` (a string literal; thread-safe); printed to stderr at
 * exit when LRP_PROFILE is set. */
void lrp_profile_add(const char *what, double seconds);

#endif
