using System.Collections;

namespace OrleansWs;

/// <summary>
/// Read-only multi-valued string map used for query strings and headers. The indexer returns the
/// first value or <see langword="null"/>, so <c>request.Query["room"] is { Length: &gt; 0 }</c> reads
/// naturally. Header maps hold lower-cased names; lookups ignore case either way.
/// </summary>
[Immutable]
public sealed class ValueMap : IEnumerable<KeyValuePair<string, string[]>>
{
    /// <summary>An empty map.</summary>
    public static ValueMap Empty { get; } = new(Array.Empty<string?>());

    // A peer keeps its request, and so two of these maps, for as long as it is connected, in a silo
    // holding tens of thousands of peers. A dictionary of arrays cost ~500 bytes for a handshake's
    // few headers; one flat array of (name, value) pairs costs a quarter of that, and lookups over a
    // handful of entries are as fast. A name's values are adjacent, in order; a name given without
    // values keeps one pair with a null value, so that Contains still sees it.
    private readonly string?[] _pairs;

    private ValueMap(string?[] pairs) => _pairs = pairs;

    /// <summary>
    /// Creates a map. Keys are compared without regard to case; a later key that differs only in case
    /// replaces the earlier one's values and keeps its spelling. A null value is read as an empty string.
    /// </summary>
    public ValueMap(IEnumerable<KeyValuePair<string, string[]>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var groups = new List<KeyValuePair<string, string[]>>();
        var positions = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var slots = 0;
        foreach (var (key, value) in values)
        {
            ArgumentNullException.ThrowIfNull(value, key);
            if (positions.TryGetValue(key, out var at))
            {
                slots -= Slots(groups[at].Value);
                groups[at] = KeyValuePair.Create(groups[at].Key, value);
            }
            else
            {
                positions[key] = groups.Count;
                groups.Add(KeyValuePair.Create(key, value));
            }

            slots += Slots(value);
        }

        _pairs = new string?[slots];
        var i = 0;
        foreach (var (key, value) in groups)
        {
            var name = CommonStrings.Share(key);
            if (value.Length == 0)
            {
                _pairs[i++] = name;
                _pairs[i++] = null;
            }

            foreach (var item in value)
            {
                _pairs[i++] = name;
                _pairs[i++] = item is null ? "" : CommonStrings.Share(item);
            }
        }

        static int Slots(string[] value) => 2 * Math.Max(1, value.Length);
    }

    /// <summary>The first value of <paramref name="name"/>, or <see langword="null"/> when absent.</summary>
    public string? this[string name]
    {
        get
        {
            var at = IndexOf(name);
            return at < 0 ? null : _pairs[at + 1];
        }
    }

    /// <summary>Every value of <paramref name="name"/>; empty when absent.</summary>
    public IReadOnlyList<string> GetValues(string name)
    {
        var at = IndexOf(name);
        return at < 0 ? [] : ValuesFrom(at, out _);
    }

    /// <summary>Whether <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => IndexOf(name) >= 0;

    /// <summary>The number of distinct names.</summary>
    public int Count
    {
        get
        {
            var count = 0;
            for (var i = 0; i < _pairs.Length; i += 2)
            {
                if (i == 0 || !SameName(_pairs[i - 2], _pairs[i]))
                {
                    count++;
                }
            }

            return count;
        }
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, string[]>> GetEnumerator()
    {
        for (var i = 0; i < _pairs.Length;)
        {
            var values = ValuesFrom(i, out var next);
            yield return KeyValuePair.Create(_pairs[i]!, values);
            i = next;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    internal string?[] Pairs => _pairs;

    internal static ValueMap FromPairs(string?[] pairs)
    {
        for (var i = 0; i < pairs.Length; i++)
        {
            if (pairs[i] is { } text)
            {
                pairs[i] = CommonStrings.Share(text);
            }
            else if (i % 2 == 0)
            {
                throw new InvalidDataException("A ValueMap's pairs have a null name.");
            }
        }

        if (pairs.Length % 2 != 0)
        {
            throw new InvalidDataException("A ValueMap's pairs have a name without a value.");
        }

        // A name's pairs are adjacent: lookups and enumeration rely on it.
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < pairs.Length; i += 2)
        {
            if ((i == 0 || !SameName(pairs[i - 2], pairs[i])) && !seen.Add(pairs[i]!))
            {
                throw new InvalidDataException($"A ValueMap's pairs list '{pairs[i]}' apart.");
            }
        }

        return new ValueMap(pairs);
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _pairs.Length; i += 2)
        {
            if (SameName(_pairs[i], name))
            {
                return i;
            }
        }

        return -1;
    }

    // The values of the name at pair index `at`; `next` is the pair index of the following name.
    private string[] ValuesFrom(int at, out int next)
    {
        var name = _pairs[at];
        next = at;
        var count = 0;
        while (next < _pairs.Length && SameName(_pairs[next], name))
        {
            count += _pairs[next + 1] is null ? 0 : 1;
            next += 2;
        }

        var values = new string[count];
        for (int i = at, j = 0; i < next; i += 2)
        {
            if (_pairs[i + 1] is { } value)
            {
                values[j++] = value;
            }
        }

        return values;
    }

    private static bool SameName(string? a, string? b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
}

/// <summary>How the Orleans serializer writes a <see cref="ValueMap"/>. Not meant for use in code.</summary>
[GenerateSerializer, System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public struct ValueMapSurrogate
{
    /// <summary>
    /// The form earlier versions wrote (a dictionary as the map's field 0), still read: peer records stored
    /// by an earlier silo must stay readable by its successor in a rolling upgrade.
    /// </summary>
    [Id(0)] public Dictionary<string, string[]>? Legacy;

    /// <summary>The map's (name, value) pairs.</summary>
    [Id(1)] public string?[]? Pairs;
}

/// <summary>
/// Converts a <see cref="ValueMap"/> for the Orleans serializer, so that a map read from a grain call or
/// from storage shares the common strings too. Not meant for use in code.
/// </summary>
[RegisterConverter, System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
public sealed class ValueMapConverter : IConverter<ValueMap, ValueMapSurrogate>
{
    /// <inheritdoc />
    public ValueMap ConvertFromSurrogate(in ValueMapSurrogate surrogate) =>
        surrogate.Pairs is { } pairs ? ValueMap.FromPairs(pairs)
        : surrogate.Legacy is { } legacy ? new ValueMap(legacy)
        : ValueMap.Empty;

    /// <inheritdoc />
    public ValueMapSurrogate ConvertToSurrogate(in ValueMap value) => new() { Pairs = value.Pairs };
}

// Header names and values that nearly every WebSocket handshake carries, so that each peer's
// request refers to one instance of each instead of a copy per peer.
internal static class CommonStrings
{
    private static readonly HashSet<string> Known =
    [
        "host", "connection", "upgrade", "origin", "user-agent", "cookie", "authorization", "accept", "accept-encoding",
        "accept-language", "cache-control", "pragma", "referer", "sec-websocket-key", "sec-websocket-version",
        "sec-websocket-extensions", "sec-websocket-protocol", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host",
        "x-real-ip", "forwarded", "Upgrade", "websocket", "13", "no-cache", "gzip, deflate, br, zstd",
        "gzip, deflate, br", "permessage-deflate; client_max_window_bits", "permessage-deflate",
    ];

    public static string Share(string text) => Known.TryGetValue(text, out var shared) ? shared : text;
}
