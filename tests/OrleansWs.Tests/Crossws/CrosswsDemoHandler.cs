using System.Text;

namespace OrleansWs.Tests.Crossws;

/// <summary>
/// crossws' shared demo handler on OrleansWs' public API, as a SolidStart user would port it: a welcome
/// first, everyone in the <c>chat</c> topic hears who joined, and a few commands that show the peer's side.
/// Namespaces, the request's view and the upgrade's answer are built in; nothing here emulates them.
/// </summary>
[GrainType("crosswsdemo")]
public sealed class CrosswsDemoHandler : WebSocketHandler
{
    public override ValueTask<UpgradeDecision> OnUpgrade(UpgradeRequest request)
    {
        if (request.Url.EndsWith("?unauthorized", StringComparison.Ordinal))
        {
            return ValueTask.FromResult(Reject(401, "unauthorized", [new("x-error", "unauthorized")], reasonPhrase: "Unauthorized"));
        }

        return ValueTask.FromResult(Accept(
            headers: [new("x-powered-by", "cross-ws"), new("set-cookie", "cross-ws=1; SameSite=None; Secure"), new("set-cookie", "demo=2")],
            context: new Dictionary<string, string> { ["test"] = "1" }));
    }

    public override async Task OnOpen(Peer peer)
    {
        await peer.Send($"Welcome to the server {peer}!");
        await peer.Subscribe("chat");
        await peer.Publish("chat", $"{peer} joined!");
    }

    public override async Task OnMessage(Peer peer, Message message)
    {
        var text = message.Text();
        switch (text)
        {
            case "ping":
                await peer.Send("pong");
                break;
            case "binary":
                await peer.Send(Encoding.UTF8.GetBytes("binary message works!"));
                break;
            case "debug":
                await peer.SendJson(new
                {
                    id = peer.Id,
                    remoteAddress = peer.RemoteAddress,
                    @namespace = peer.Namespace,
                    context = peer.Context,
                    request = new
                    {
                        url = peer.Request.Url,
                        headers = peer.Headers.ToDictionary(h => h.Key, h => string.Join(", ", h.Value)),
                    },
                    websocket = new
                    {
                        readyState = (int)peer.ReadyState,
                        protocol = peer.Protocol,
                        extensions = peer.Extensions,
                        url = peer.Url,
                        bufferedAmount = peer.BufferedAmount,
                    },
                });
                break;
            case "waitForDrain":
                await peer.WaitForDrain();
                await peer.Send("drained");
                break;
            case "peers":
                await peer.SendJson(new { peers = await peer.GetPeers() });
                break;
            default:
                await peer.Send(text);
                await peer.Publish("chat", text);
                break;
        }
    }
}
