using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using OrleansWs.Internal;

namespace OrleansWs.Gateway.Hosting;

/// <summary>Health endpoints and an HTTP face for <see cref="IWebSocketPeers"/>.</summary>
public static class GatewayEndpointsExtensions
{
    /// <summary>
    /// The header of a <c>GET peers</c> answer that is not whole: how many live gateways did not answer
    /// (<see cref="PeerListing.UnansweredGateways"/>). Absent when every gateway answered.
    /// </summary>
    public const string PartialListingHeader = "OrleansWs-Unanswered-Gateways";

    /// <summary>
    /// The header of a <c>POST peer/send</c> answer: <c>connected</c> (queued on the peer's gateway) or <c>detached</c>
    /// (kept for a peer waiting to resume, see <see cref="PeerPresence.Detached"/>).
    /// </summary>
    public const string PresenceHeader = "OrleansWs-Peer-Presence";

    /// <summary>
    /// Maps <c>/healthz</c> (the process is up: 200) and <c>/readyz</c> (200 while this gateway holds
    /// its lease in the cluster and is not stopping, else 503 with the reason). Load balancers route on
    /// <c>/readyz</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapWebSocketGatewayHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => Results.Text("ok\n"));
        endpoints.MapGet("/readyz", (GatewayLease lease) => lease.IsReady
            ? Results.Text("ready\n")
            : Results.Text("not ready: no lease in the cluster (starting, stopping or cut off)\n", statusCode: StatusCodes.Status503ServiceUnavailable));
        return endpoints;
    }

    /// <summary>
    /// Maps an HTTP API over <see cref="IWebSocketPeers"/> under <paramref name="prefix"/>: list a namespace's
    /// peers (<c>GET peers?namespace=/ws/chat</c>; its detached ones: <c>GET peers/detached?namespace=</c>), read a peer's topics, send to or close a peer by id, publish
    /// to a topic (in every namespace, or in one with <c>&amp;namespace=</c>). Secure the returned
    /// group (e.g. <c>RequireAuthorization()</c>) before exposing it.
    /// </summary>
    public static RouteGroupBuilder MapWebSocketPeersApi(this IEndpointRouteBuilder endpoints, string prefix = "/api")
    {
        var api = endpoints.MapGroup(prefix);
        api.MapGet("/peers", async (string @namespace, IWebSocketPeers peers, HttpResponse response) =>
        {
            if (@namespace.Length == 0)
            {
                return Results.BadRequest("namespace is required, e.g. ?namespace=/ws/chat\n");
            }

            var listing = await peers.GetPeers(@namespace);
            if (!listing.IsComplete)
            {
                // The body stays a JSON array of ids; a listing that is not whole says so beside it.
                response.Headers[PartialListingHeader] = listing.UnansweredGateways.ToString(CultureInfo.InvariantCulture);
            }

            return Results.Ok(listing.ToArray());
        });
        api.MapGet("/peer/topics", async (string id, IWebSocketPeers peers) =>
            await Checked(id, async () => await peers.GetTopics(id) is { } topics ? Results.Ok(topics) : NotOpen(id)));
        api.MapGet("/peers/detached", async (string @namespace, IWebSocketPeers peers, HttpResponse response) =>
        {
            if (@namespace.Length == 0)
            {
                return Results.BadRequest("namespace is required, e.g. ?namespace=/ws/chat\n");
            }

            var listing = await peers.GetPeers(@namespace);
            if (!listing.IsComplete)
            {
                response.Headers[PartialListingHeader] = listing.UnansweredGateways.ToString(CultureInfo.InvariantCulture);
            }

            return Results.Ok(listing.Detached);
        });
        api.MapPost("/peer/send", async (string id, [FromBody] string text, IWebSocketPeers peers, HttpResponse response) =>
            await Checked(id, async () =>
            {
                var presence = await peers.SendTo(id, Message.FromText(text));
                if (presence == PeerPresence.NotOpen)
                {
                    return NotOpen(id);
                }

                // Detached: kept for the peer until it resumes (or its window ends).
                response.Headers[PresenceHeader] = presence == PeerPresence.Detached ? "detached" : "connected";
                return Results.Accepted();
            }));
        api.MapPost("/peer/close", async (string id, int? code, string? reason, IWebSocketPeers peers) =>
        {
            try
            {
                CloseCodes.Validate(code ?? CloseCodes.Normal, reason ?? "");
            }
            catch (ArgumentException ex)
            {
                return Results.BadRequest(ex.Message + "\n");
            }

            return await Checked(id, async () => await peers.Close(id, code ?? CloseCodes.Normal, reason ?? "") ? Results.Accepted() : NotOpen(id));
        });
        api.MapPost("/topics/publish", async (string topic, string? @namespace, [FromBody] string text, IWebSocketPeers peers) =>
        {
            await (@namespace is { Length: > 0 } ns ? peers.Publish(topic, Message.FromText(text), ns) : peers.Publish(topic, Message.FromText(text)));
            return Results.Accepted();
        });
        return api;
    }

    private static IResult NotOpen(string id) => Results.NotFound($"Peer '{id}' is not open.\n");

    private static async Task<IResult> Checked(string id, Func<Task<IResult>> action)
    {
        try
        {
            PeerIds.ToGrainId(id);
        }
        catch (FormatException ex)
        {
            return Results.BadRequest(ex.Message + "\n");
        }

        return await action();
    }
}
