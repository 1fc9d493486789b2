# Read by ctest after the discovered tests: the portable run leaves out the full-MNIST epoch, a
# long test whose code the short ones already run.
set_tests_properties("portable.FullMnist.OneEpoch" PROPERTIES DISABLED TRUE)
