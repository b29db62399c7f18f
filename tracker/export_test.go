package tracker

// TransitionProblem is transitionProblem (edges_test.go), for the tests of
// package tracker_test.
var TransitionProblem = transitionProblem
