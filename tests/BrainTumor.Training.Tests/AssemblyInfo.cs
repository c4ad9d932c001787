// TorchSharp's random generator is process-wide: trainings in parallel test classes drew from it in turn, so a
// briefly trained network's initial weights depended on timing (one run under CPU load got a lite-cnn whose
// Grad-CAM maps were all flat). One class at a time keeps every seeded training reproducible.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
