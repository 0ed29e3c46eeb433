using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Internal;

namespace OrleansWs.Tests.Topics;

/// <summary>
/// A gateway's topic subscriptions with each delivery held back before it is queued, as on a gateway that is
/// slow or stuck: <see cref="Delay"/> per delivery, and while <see cref="Gate"/> is closed, until it opens
/// (at most <see cref="MaxHold"/>). Installed on one test gateway with <see cref="Install"/>.
/// </summary>
internal sealed class HeldTopicSubscriber(ITopicSubscriber inner) : ITopicSubscriber
{
    public static readonly TimeSpan MaxHold = TimeSpan.FromSeconds(10);

    public TimeSpan Delay { get; set; }

    public ManualResetEventSlim Gate { get; } = new(initialState: true);

    public static Action<WebApplicationBuilder> Install(Action<HeldTopicSubscriber> created) => builder =>
        builder.Services.AddSingleton<ITopicSubscriber>(sp =>
        {
            var held = new HeldTopicSubscriber(sp.GetRequiredService<StreamTopicBus>());
            created(held);
            return held;
        });

    public Task<TopicPosition> Position(string topic) => inner.Position(topic);

    public Task<ITopicSubscription> Subscribe(string topic, TopicPosition from, ITopicReceiver receiver) =>
        inner.Subscribe(topic, from, new Receiver(this, receiver));

    private sealed class Receiver(HeldTopicSubscriber held, ITopicReceiver receiver) : ITopicReceiver
    {
        public void OnPublished(TopicPosition position, TopicEvent published)
        {
            // Blocking is the point: the delivery is not queued until it returns.
            if (held.Delay > TimeSpan.Zero)
            {
                Thread.Sleep(held.Delay);
            }

            held.Gate.Wait(MaxHold);
            receiver.OnPublished(position, published);
        }

        public void OnFenced() => receiver.OnFenced();
    }
}
