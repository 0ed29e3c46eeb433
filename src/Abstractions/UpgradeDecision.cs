namespace OrleansWs;

/// <summary>
/// The answer of the <c>upgrade</c> hook: accept (optionally choosing a sub-protocol, a namespace, response
/// headers such as cookies, and the peer's initial context) or reject with an HTTP response.
/// </summary>
/// <remarks>
/// Only the HTTP side of the answer (status, reason phrase, headers, body, sub-protocol, namespace) travels to
/// the gateway. The <see cref="Context"/> stays with the peer in its grain, so a gateway never needs its type.
/// </remarks>
public sealed class UpgradeDecision
{
    private static readonly IReadOnlyList<KeyValuePair<string, string>> NoHeaders = [];

    private UpgradeDecision()
    {
    }

    /// <summary>Whether the connection is accepted.</summary>
    public bool Accepted { get; private init; }

    /// <summary>The HTTP status of a rejection (101 when accepted).</summary>
    public int Status { get; private init; }

    /// <summary>The reason phrase of a rejection's status line, e.g. <c>Unauthorized</c>; <see langword="null"/> for the standard one.</summary>
    public string? ReasonPhrase { get; private init; }

    /// <summary>
    /// Headers to add to the response: the 101 of an acceptance or the rejection. A name may repeat (two
    /// <c>set-cookie</c> headers); each pair becomes one header line, in order.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; private init; } = NoHeaders;

    /// <summary>The body of a rejection, sent as UTF-8 text.</summary>
    public string? Body { get; private init; }

    /// <summary>The chosen sub-protocol; must be one the client requested.</summary>
    public string? Protocol { get; private init; }

    /// <summary>
    /// The peer's namespace (crossws' <c>namespace</c>): the peers it lists and the subscribers its publishes
    /// reach. <see langword="null"/> means the request's path.
    /// </summary>
    public string? Namespace { get; private init; }

    /// <summary>
    /// The peer's initial context (crossws' <c>peer.context</c>): any value Orleans can serialize (a
    /// <c>[GenerateSerializer]</c> type, a string, a dictionary). Hooks read and replace it through
    /// <c>Peer.Context</c>; it is stored with the peer's state.
    /// </summary>
    public object? Context { get; private init; }

    /// <summary>Accepts the connection.</summary>
    /// <param name="protocol">The chosen sub-protocol; one the client requested.</param>
    /// <param name="headers">Headers for the 101 response; a name may repeat.</param>
    /// <param name="context">The peer's initial context.</param>
    /// <param name="namespace">The peer's namespace; <see langword="null"/> for the request's path.</param>
    public static UpgradeDecision Accept(
        string? protocol = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        object? context = null,
        string? @namespace = null)
    {
        if (@namespace is { Length: 0 })
        {
            throw new ArgumentException("A namespace cannot be empty; pass null for the request's path.", nameof(@namespace));
        }

        return new() { Accepted = true, Status = 101, Protocol = protocol, Headers = Copy(headers), Context = context, Namespace = @namespace };
    }

    /// <summary>
    /// Rejects the connection with an HTTP response; no peer, state or activation is left behind. The gateway
    /// closes the connection after the response, as crossws does.
    /// </summary>
    /// <param name="status">A 4xx or 5xx status.</param>
    /// <param name="body">The response body, sent as UTF-8 text.</param>
    /// <param name="headers">Response headers; a name may repeat.</param>
    /// <param name="reasonPhrase">The status line's reason phrase (crossws' <c>statusText</c>); printable ASCII.</param>
    public static UpgradeDecision Reject(
        int status,
        string? body = null,
        IEnumerable<KeyValuePair<string, string>>? headers = null,
        string? reasonPhrase = null)
    {
        if (status is < 400 or > 599)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "A rejection needs a 4xx or 5xx status.");
        }

        if (reasonPhrase is not null && reasonPhrase.Any(c => c is < ' ' or > '~'))
        {
            throw new ArgumentException("A reason phrase is printable ASCII on one line.", nameof(reasonPhrase));
        }

        return new() { Accepted = false, Status = status, Body = body, Headers = Copy(headers), ReasonPhrase = reasonPhrase };
    }

    // Checked here, so that a bad header is the upgrade hook's error (500, logged) rather than a failing response.
    private static IReadOnlyList<KeyValuePair<string, string>> Copy(IEnumerable<KeyValuePair<string, string>>? headers)
    {
        if (headers is null)
        {
            return NoHeaders;
        }

        var copy = headers.ToArray();
        foreach (var (name, value) in copy)
        {
            if (string.IsNullOrEmpty(name) || !name.All(IsTokenChar))
            {
                throw new ArgumentException($"'{name}' is not an HTTP header name.", nameof(headers));
            }

            if (value is null || value.Any(c => c is (< ' ' and not '\t') or > '~'))
            {
                throw new ArgumentException($"The value of header '{name}' must be printable ASCII on one line.", nameof(headers));
            }
        }

        return copy;
    }

    // RFC 9110 §5.6.2 tchar.
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c);
}
