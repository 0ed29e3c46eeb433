namespace OrleansWs;

/// <summary>
/// The authenticated user of an upgrade request, copied from ASP.NET Core's <c>HttpContext.User</c>
/// so it can travel to the peer's grain. Absent (<see langword="null"/>) for anonymous requests.
/// </summary>
/// <param name="Name">The identity's name (<c>Identity.Name</c>), if it has one.</param>
/// <param name="AuthenticationType">The scheme that authenticated the user.</param>
/// <param name="Claims">Every claim of every identity, in order.</param>
[GenerateSerializer, Immutable]
public sealed record PeerUser(
    [property: Id(0)] string? Name,
    [property: Id(1)] string? AuthenticationType,
    [property: Id(2)] IReadOnlyList<PeerClaim> Claims)
{
    /// <summary>The first value of the claim of type <paramref name="type"/>, or <see langword="null"/>.</summary>
    public string? FindFirst(string type) => Claims.FirstOrDefault(c => c.Type == type)?.Value;
}

/// <summary>One claim of a <see cref="PeerUser"/>.</summary>
[GenerateSerializer, Immutable]
public sealed record PeerClaim([property: Id(0)] string Type, [property: Id(1)] string Value);
