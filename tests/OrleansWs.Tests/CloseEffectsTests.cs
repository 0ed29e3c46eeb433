using Microsoft.Extensions.DependencyInjection;
using OrleansWs.Internal;
using OrleansWs.Testing;
using OrleansWs.Tests.Handlers;

namespace OrleansWs.Tests;

/// <summary>The close path completes whatever <c>OnClose</c>'s effects do: a publish the topic refuses keeps no peer open.</summary>
public sealed class CloseEffectsTests(CloseEffectsTests.Fixture fixture) : IClassFixture<CloseEffectsTests.Fixture>
{
    private const string RefusedPrefix = "refused-";
    private readonly WebSocketTestApp _app = fixture.App;

    public sealed class Fixture : AppFixture
    {
        protected override void Configure(WebSocketTestAppOptions options)
        {
            var app = options.ConfigureSilo;
            options.ConfigureSilo = silo =>
            {
                app?.Invoke(silo);
                silo.Services.AddSingleton<ITopicBarrier>(sp => new RefusingBarrier(sp.GetRequiredService<StreamTopicBus>()));
            };
        }
    }

    [Fact]
    public async Task A_publish_that_fails_after_OnClose_is_logged_and_the_peer_is_closed_all_the_same()
    {
        var mark = _app.Logs.Mark();
        var (client, id) = await _app.OpenRecording("closePublish=" + RefusedPrefix + AppExtensions.NewTag());
        await client.Close();

        await HookLog.WaitFor(id, "close");
        await _app.WaitForDeactivation(id);
        Assert.Null(await _app.ReadPeerRecord<RecordingState>(id));
        Assert.False(await _app.Peers.Send(id, Message.FromText("anyone there?")));
        Assert.Null(await _app.GetTopics(id));
        Assert.Equal("CloseEffectsFailed", Assert.Single(_app.Logs.ErrorsSince(mark)).EventName);
    }

    // The topic seam with one fault: publishes to topics named refused-… throw, as a full or unreachable topic would.
    private sealed class RefusingBarrier(ITopicBarrier inner) : ITopicBarrier
    {
        public Task<TopicQueued> PublishQueued(string topic, IReadOnlyList<Message> messages, PublishOptions options, TimeSpan bound) =>
            topic.StartsWith(RefusedPrefix, StringComparison.Ordinal)
                ? throw new InvalidOperationException($"The topic {topic} refused the publish.")
                : inner.PublishQueued(topic, messages, options, bound);
    }
}
