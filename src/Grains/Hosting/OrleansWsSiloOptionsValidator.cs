using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;

namespace OrleansWs.Hosting;

/// <summary>Fails silo startup on settings that cannot work, naming the option.</summary>
internal sealed class OrleansWsSiloOptionsValidator(IOptions<OrleansWsSiloOptions> options, IOptions<Orleans.Configuration.SiloMessagingOptions> messaging) : IConfigurationValidator
{
    public void ValidateConfiguration()
    {
        var o = options.Value;
        // A co-hosted gateway's grain calls are bounded by the silo's response timeout, as a standalone gateway's by its
        // GrainCallTimeout: it must outlast the runtime's longest wait inside a hook, plus a publish's wait for its gateways.
        var longest = Internal.RuntimeTimeouts.LongestHookWait + (o.PublishQueuedTimeout > Internal.RuntimeTimeouts.GatewayAnswer ? o.PublishQueuedTimeout : Internal.RuntimeTimeouts.GatewayAnswer);
        if (messaging.Value.ResponseTimeout <= longest)
        {
            throw new OrleansConfigurationException(
                $"SiloMessagingOptions.ResponseTimeout ({messaging.Value.ResponseTimeout}) must be longer than the runtime's longest wait inside a hook plus {nameof(o.PublishQueuedTimeout)} ({longest}).");
        }

        if (o.TopicPollingPeriod <= TimeSpan.Zero || o.TopicPollingPeriod > TimeSpan.FromSeconds(10))
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.TopicPollingPeriod)} must be above zero and at most 10 s; it is {o.TopicPollingPeriod}.");
        }

        if (o.TopicQueueRetryLimit < TimeSpan.FromMilliseconds(50) || o.TopicQueueRetryLimit > TimeSpan.FromMinutes(5))
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.TopicQueueRetryLimit)} must be between 50 ms and 5 min; it is {o.TopicQueueRetryLimit}.");
        }

        if (o.GatewayDropTimeout < TimeSpan.FromSeconds(1))
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.GatewayDropTimeout)} must be at least 1 s; it is {o.GatewayDropTimeout}.");
        }

        // A hook's effects wait up to this per publish inside the gateway's grain call, which Orleans' response
        // timeout bounds: a long wait would fail the call (1011) instead of fencing the laggard.
        if (o.PublishQueuedTimeout < TimeSpan.FromMilliseconds(50) || o.PublishQueuedTimeout > TimeSpan.FromSeconds(10))
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.PublishQueuedTimeout)} must be between 50 ms and 10 s; it is {o.PublishQueuedTimeout}.");
        }

        if (o.TopicPartitions is < 1 or > 1024)
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.TopicPartitions)} must be between 1 and 1024; it is {o.TopicPartitions}.");
        }

        if (o.TopicPartitionLength < 1000 || o.TopicHistoryCount < 1 || o.TopicHistoryCount > o.TopicPartitionLength)
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.TopicPartitionLength)} must be at least 1,000 and {nameof(o.TopicHistoryCount)} between 1 and it; they are {o.TopicPartitionLength} and {o.TopicHistoryCount}.");
        }

        if (o.TopicHistoryAge < TimeSpan.FromSeconds(1))
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.TopicHistoryAge)} must be at least 1 s; it is {o.TopicHistoryAge}.");
        }

        if (o.TopicInactivityPeriod < TimeSpan.FromSeconds(1))
        {
            throw new OrleansConfigurationException(
                $"{nameof(OrleansWsSiloOptions)}.{nameof(o.TopicInactivityPeriod)} must be at least 1 s; it is {o.TopicInactivityPeriod}.");
        }
    }
}
