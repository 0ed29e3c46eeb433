// Each cluster fixture builds and starts real processes (scripts/cluster.sh up builds Release into the
// same folders); two at once would build over each other's binaries. One cluster at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
