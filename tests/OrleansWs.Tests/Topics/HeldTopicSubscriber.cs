using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Internal;

namespace OrleansWs.Tests.Topics;

/// <summary>
/// A gateway's topic subscriptions with each delivery held back before it is queued, as on a gateway that is
/// slow or stuck: <see cref="Delay"/> per delivery, and while the gate is shut (<see cref="Hold"/>) until
/// <see cref="Release"/>. Deliveries stay in order. It holds them without blocking a thread: the kit's
/// gateways share one Orleans client, whose stream deliveries a blocked thread would hold up for all of them.
/// Installed on one test gateway with <see cref="Install"/>.
/// </summary>
internal sealed class HeldTopicSubscriber(ITopicSubscriber inner) : ITopicSubscriber
{
    private volatile TaskCompletionSource _gate = Open();

    public TimeSpan Delay { get; set; }

    public static Action<WebApplicationBuilder> Install(Action<HeldTopicSubscriber> created) => builder =>
        builder.Services.AddSingleton<ITopicSubscriber>(sp =>
        {
            var held = new HeldTopicSubscriber(sp.GetRequiredService<StreamTopicBus>());
            created(held);
            return held;
        });

    /// <summary>Shuts the gate: deliveries wait from now on.</summary>
    public void Hold() => _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Opens the gate: what waited is queued, in order.</summary>
    public void Release() => _gate.TrySetResult();

    public Task<TopicPosition> Position(string topic) => inner.Position(topic);

    public Task<ITopicSubscription> Subscribe(string topic, TopicPosition from, ITopicReceiver receiver) =>
        inner.Subscribe(topic, from, new Receiver(this, receiver));

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private sealed class Receiver(HeldTopicSubscriber held, ITopicReceiver receiver) : ITopicReceiver
    {
        private Task _last = Task.CompletedTask;

        public ValueTask OnPublished(TopicPosition position, TopicEvent published)
        {
            // One delivery at a time, as the bus hands them over.
            _last = Queue(_last, position, published);
            return new ValueTask(_last);
        }

        public void OnFenced() => receiver.OnFenced();

        private async Task Queue(Task before, TopicPosition position, TopicEvent published)
        {
            await before;
            if (held.Delay > TimeSpan.Zero)
            {
                await Task.Delay(held.Delay);
            }

            await held._gate.Task;
            await receiver.OnPublished(position, published);
        }
    }
}
