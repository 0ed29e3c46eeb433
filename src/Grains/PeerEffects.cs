using OrleansWs.Internal;

namespace OrleansWs;

/// <summary>
/// What the hooks of one grain call asked for, as a record the pipeline reads once they returned.
/// Nothing leaves the grain while hooks run: the pipeline writes the peer's state first, then
/// publishes, then hands the rest to the gateway.
/// </summary>
internal sealed class PeerEffects
{
    private List<Message>? _frames;
    private List<TopicChange>? _topicChanges;
    private List<(string Topic, Message Message)>? _publishes;

    public CloseCommand? Close { get; private set; }

    public IReadOnlyList<Message>? Frames => _frames;

    public IReadOnlyList<TopicChange>? TopicChanges => _topicChanges;

    public bool Closing => Close is not null;

    public bool ChangesTopics => _topicChanges is not null;

    public IReadOnlyList<(string Topic, Message Message)> Publishes => _publishes ?? [];

    public void Send(Message message)
    {
        // As on a closing socket, frames after a close are not sent.
        if (!Closing)
        {
            (_frames ??= []).Add(message);
        }
    }

    public void ChangeTopic(string topic, bool subscribe) => (_topicChanges ??= []).Add(new TopicChange(topic, subscribe));

    public void Publish(string topic, Message message) => (_publishes ??= []).Add((topic, message));

    public void RequestClose(int code, string reason, bool terminate) => Close ??= new CloseCommand(code, reason, terminate);
}
