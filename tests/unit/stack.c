/*
 * Stack measurement for the unit tests' 2 KiB budget checks.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "suites.h"

#define STACK_AREA (64 * 1024)
#define STACK_PAINT 0xa5

/* Bytes of a painted 64 KiB thread stack that BODY(ARG) touched: the
   stack is filled with a pattern, the thread runs, and the untouched
   pattern is counted from the far end (stacks grow down).  Callers
   subtract a run of a body that does nothing. */
size_t
stack_touched(void *(*body)(void *), void *arg)
{
  uint8_t *area = malloc(STACK_AREA);
  pthread_attr_t attr;
  pthread_t thread;
  size_t low = 0;

  ck_assert_ptr_nonnull(area);
  memset(area, STACK_PAINT, STACK_AREA);
  pthread_attr_init(&attr);
  ck_assert_int_eq(pthread_attr_setstack(&attr, area, STACK_AREA), 0);
  ck_assert_int_eq(pthread_create(&thread, &attr, body, arg), 0);
  pthread_join(thread, NULL);
  pthread_attr_destroy(&attr);
  while (low < STACK_AREA && area[low] == STACK_PAINT)
    low++;
  free(area);
  return STACK_AREA - low;
}
