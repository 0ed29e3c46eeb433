using Microsoft.AspNetCore.WebUtilities;

namespace OrleansWs.Testing;

/// <summary>Builds the <see cref="UpgradeRequest"/> a <see cref="HandlerHarness{THandler,TState}"/> connects with.</summary>
public sealed class UpgradeRequestBuilder
{
    private readonly string _path;
    private readonly string _query;
    private readonly Dictionary<string, string[]> _headers = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _protocols = [];
    private readonly List<string> _extensions = [];
    private PeerUser? _user;

    internal UpgradeRequestBuilder(string pathAndQuery)
    {
        var q = pathAndQuery.IndexOf('?');
        _path = q < 0 ? pathAndQuery : pathAndQuery[..q];
        _query = q < 0 ? "" : pathAndQuery[q..];
    }

    /// <summary>The client's address. Default: 127.0.0.1.</summary>
    public string RemoteAddress { get; set; } = "127.0.0.1";

    /// <summary>The host the request was sent to. Default: localhost.</summary>
    public string Host { get; set; } = "localhost";

    /// <summary>Adds a request header (its name is lower-cased, as gateways do).</summary>
    public UpgradeRequestBuilder Header(string name, string value)
    {
        _headers[name.ToLowerInvariant()] = [.. _headers.GetValueOrDefault(name.ToLowerInvariant(), []), value];
        return this;
    }

    /// <summary>Adds a requested sub-protocol.</summary>
    public UpgradeRequestBuilder Protocol(string protocol)
    {
        _protocols.Add(protocol);
        return this;
    }

    /// <summary>Offers <c>permessage-deflate</c> and has the gateway accept it, as one with compression on does.</summary>
    public UpgradeRequestBuilder Compression()
    {
        _extensions.Add("permessage-deflate");
        return this;
    }

    internal IReadOnlyList<string> NegotiatedExtensions => _extensions;

    /// <summary>Makes the request authenticated as <paramref name="name"/> with the given claims.</summary>
    public UpgradeRequestBuilder User(string name, params (string Type, string Value)[] claims)
    {
        _user = new PeerUser(name, "test", [new PeerClaim(System.Security.Claims.ClaimTypes.Name, name), .. claims.Select(c => new PeerClaim(c.Type, c.Value))]);
        return this;
    }

    // As Kestrel decodes a path: everything but an encoded '/', which would change the path's segments.
    private static string DecodePath(string path) =>
        string.Join("%2F", System.Text.RegularExpressions.Regex.Split(path, "%2F", System.Text.RegularExpressions.RegexOptions.IgnoreCase).Select(Uri.UnescapeDataString));

    internal UpgradeRequest Build()
    {
        var query = QueryHelpers.ParseQuery(_query);
        return new UpgradeRequest
        {
            Url = $"http://{Host}{_path}{_query}",
            Path = DecodePath(_path),
            RawTarget = _path + _query,
            RequestedExtensions = _extensions,
            Query = new ValueMap(query.Select(q => KeyValuePair.Create(q.Key, q.Value.Select(v => v ?? "").ToArray()))),
            Headers = new ValueMap(_headers),
            RemoteAddress = RemoteAddress,
            RequestedProtocols = _protocols,
            User = _user,
            Endpoint = _path,
        };
    }
}
