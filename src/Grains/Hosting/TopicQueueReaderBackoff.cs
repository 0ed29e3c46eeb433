using Microsoft.Extensions.Options;
using Orleans.Runtime.Providers;

namespace OrleansWs.Hosting;

/// <summary>
/// How long a topic's pulling agent waits before reading its queue again after a failed read, e.g.
/// when the queue's grain died with its silo. Orleans waits 10–20 s; topics then go silent that long
/// after every silo loss. This starts at 50 ms and doubles up to <see cref="OrleansWsSiloOptions.TopicQueueRetryLimit"/>.
/// </summary>
internal sealed class TopicQueueReaderBackoff(IOptions<OrleansWsSiloOptions> options) : IQueueReaderBackoffProvider
{
    public TimeSpan Next(int attempt)
    {
        var limit = options.Value.TopicQueueRetryLimit;
        var delay = TimeSpan.FromMilliseconds(50 * Math.Pow(2, Math.Min(attempt, 16)));
        return delay < limit ? delay : limit;
    }
}
