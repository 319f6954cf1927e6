/*
 * The unit test runner: every suite of libpxeclass in one libcheck run.
 */
#include <stdlib.h>

#include "suites.h"

int
main(void)
{
  SRunner *sr = srunner_create(parser_suite());
  int failed;

  srunner_add_suite(sr, classify_suite());
  srunner_add_suite(sr, classify6_suite());
  srunner_add_suite(sr, captures_suite());
  srunner_add_suite(sr, tables_suite());
  srunner_add_suite(sr, equivalence_suite());
  srunner_add_suite(sr, rules_suite());
  srunner_add_suite(sr, chain_suite());
  srunner_add_suite(sr, factsheet_suite());
  srunner_add_suite(sr, field_suite());
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
