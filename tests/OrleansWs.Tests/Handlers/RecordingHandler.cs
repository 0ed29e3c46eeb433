namespace OrleansWs.Tests.Handlers;

/// <summary>
/// A handler that records every hook in <see cref="HookLog"/> and obeys text commands, so one
/// endpoint can exercise every part of the peer API through a real socket.
/// </summary>
[GrainType("recording")]
public sealed class RecordingHandler : WebSocketHandler<RecordingState>
{
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request)
    {
        var tag = request.Query["tag"];
        if (tag is not null)
        {
            HookLog.Record(tag, "upgrade", new UpgradeSeen(request, this.GetGrainId().ToString()));
        }

        if (request.Query["throw"] is not null)
        {
            throw new InvalidOperationException("upgrade boom");
        }

        if (request.Query["reject"] is { } status)
        {
            return ValueTask.FromResult(Reject(
                int.Parse(status), "go away", [new("x-reason", "test"), new("set-cookie", "a=1"), new("set-cookie", "b=2")], request.Query["phrase"]));
        }

        if (request.Query["badContext"] is not null)
        {
            return ValueTask.FromResult(Accept(context: new NotSerializable()));
        }

        return ValueTask.FromResult(Accept(
            protocol: request.Query["protocol"],
            headers: [new("x-upgrade", "yes"), new("set-cookie", "session=abc; HttpOnly"), new("set-cookie", "theme=dark")],
            context: new Dictionary<string, string> { ["tag"] = tag ?? "" },
            @namespace: request.Query["namespace"]));
    }

    public override async Task OnOpen(Peer peer)
    {
        HookLog.Record(peer.Id, "open", peer);
        await peer.Send("welcome " + peer.Id);
        if (peer.Query["subscribe"] is { } topic)
        {
            await peer.Subscribe(topic);
        }

        if (peer.Query["holdOpen"] is { } tag)
        {
            // Held until the test kills this silo, under a key the test knows before it knows the peer's id.
            HookLog.Record("opening/" + tag, "open", peer.Id);
            await HookLog.Gate(peer.Id + "/open").Task;
        }

        if (peer.Query["failOpen"] is not null)
        {
            throw new InvalidOperationException("open boom");
        }
    }

    public override async Task OnMessage(Peer peer, Message message)
    {
        HookLog.Record(peer.Id, "message", message);
        if (message.IsBinary)
        {
            await peer.Send(message);
            return;
        }

        var text = message.Text();
        var parts = text.Split(':', 3);
        switch (parts[0])
        {
            case "throw":
                throw new InvalidOperationException("boom");
            case "close":
                await peer.Close(int.Parse(parts[1]), parts.Length > 2 ? parts[2] : "");
                break;
            case "terminate":
                await peer.Terminate();
                break;
            case "add":
                State.Items.Add(parts[1]);
                await peer.Send("items:" + string.Join(",", State.Items));
                break;
            case "addpub":
                // addpub:item:topicA,@peerId,topicB changes the state and publishes the item to each topic (sends it to each
                // @peer) in that order: one write, one outbox.
                State.Items.Add(parts[1]);
                foreach (var target in parts[2].Split(','))
                {
                    if (target.StartsWith('@'))
                    {
                        await Peers.Send(target[1..], Message.FromText(parts[1]));
                    }
                    else
                    {
                        await peer.Publish(target, parts[1]);
                    }
                }

                await peer.Send("items:" + string.Join(",", State.Items));
                break;
            case "items":
                await peer.Send("items:" + string.Join(",", State.Items));
                break;
            case "sub":
                await peer.Subscribe(parts[1]);
                await peer.Send("subscribed " + parts[1]);
                break;
            case "unsub":
                await peer.Unsubscribe(parts[1]);
                await peer.Send("unsubscribed " + parts[1]);
                break;
            case "pub":
                await peer.Publish(parts[1], parts[2]);
                await peer.Send("published");
                break;
            case "peers":
                await peer.Send("peers:" + string.Join(",", await peer.GetPeers()));
                break;
            case "drain":
                var drained = await peer.WaitForDrain(0, TimeSpan.FromMilliseconds(int.Parse(parts[1])));
                HookLog.Record(peer.Id, "drained", drained);
                await peer.Send("drained:" + drained);
                break;
            case "topics":
                await peer.Send("topics:" + string.Join(",", peer.Topics));
                break;
            case "hold":
                // Keeps the grain busy (one turn at a time) until the test opens the gate.
                await HookLog.Gate(peer.Id).Task;
                break;
            case "quiet":
                break;
            case "query":
                await peer.Send("query:" + string.Join(",", peer.Query.GetValues(parts[1])));
                break;
            case "header":
                await peer.Send("header:" + peer.Headers[parts[1]]);
                break;
            case "info":
                await peer.SendJson(new PeerInfo(peer.Id, peer.Url, peer.Protocol, peer.ContextAs<Dictionary<string, string>>()?.GetValueOrDefault("tag"), peer.RemoteAddress, peer.User?.Name, peer.BufferedAmount, peer.Extensions, peer.Namespace));
                break;
            case "ctx":
                // ctx:mutate:v changes the context in place, ctx:record:v replaces it with a record; ctx alone reads it.
                if (parts.Length == 3 && parts[1] == "mutate")
                {
                    peer.ContextAs<Dictionary<string, string>>()!["tag"] = parts[2];
                }
                else if (parts.Length == 3 && parts[1] == "record")
                {
                    peer.Context = new TagContext(parts[2]);
                }
                else if (parts.Length == 3 && parts[1] == "bad")
                {
                    peer.Context = new NotSerializable();
                }

                await peer.Send("ctx:" + peer.Context switch
                {
                    Dictionary<string, string> d => "dictionary " + d.GetValueOrDefault("tag"),
                    TagContext t => "record " + t.Tag,
                    var other => "other " + other,
                });
                break;
            case "state":
                HookLog.Record(peer.Id + "/readyState", "message", peer.ReadyState);
                await peer.Close();
                HookLog.Record(peer.Id + "/readyState", "message", peer.ReadyState);
                break;
            default:
                await peer.Send(message);
                break;
        }
    }

    public override async Task OnClose(Peer peer, CloseDetails details)
    {
        // Under a key of its own, so the peer's hook sequence stays open, message, close.
        HookLog.Record(peer.Id + "/readyState", "close", peer.ReadyState);
        HookLog.Record(peer.Id, "close", details);
        HookLog.Record(peer.Id + "/state", "close", string.Join(",", State.Items));
        if (peer.Query["holdClose"] is not null && details.Attempt == 1)
        {
            // Held until the test kills this silo: the close is then finished elsewhere.
            await HookLog.Gate(peer.Id + "/close").Task;
        }

        if (peer.Query["closePublish"] is { } topic)
        {
            await peer.Publish(topic, "bye");
        }
    }

    public override Task OnError(Peer peer, Exception error)
    {
        HookLog.Record(peer.Id, "error", error);
        return Task.CompletedTask;
    }
}

[GenerateSerializer]
public sealed class RecordingState
{
    [Id(0)] public List<string> Items { get; set; } = [];
}

public sealed record UpgradeSeen(UpgradeRequest Request, string PeerId);

public sealed record PeerInfo(
    string Id, string Url, string? Protocol, string? Tag, string? RemoteAddress, string? User, long BufferedAmount,
    IReadOnlyList<string>? Extensions = null, string? Namespace = null);

[GenerateSerializer]
public sealed record TagContext([property: Id(0)] string Tag);

/// <summary>A context Orleans has no codec for.</summary>
public sealed class NotSerializable
{
}
