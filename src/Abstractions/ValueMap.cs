using System.Collections;

namespace OrleansWs;

/// <summary>
/// Read-only multi-valued string map used for query strings and headers. The indexer returns the
/// first value or <see langword="null"/>, so <c>request.Query["room"] is { Length: &gt; 0 }</c> reads
/// naturally. Header maps hold lower-cased names; lookups ignore case either way.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class ValueMap : IEnumerable<KeyValuePair<string, string[]>>
{
    /// <summary>An empty map.</summary>
    public static ValueMap Empty { get; } = new(new Dictionary<string, string[]>());

    [Id(0)] private readonly Dictionary<string, string[]> _values;

    /// <summary>Creates a map; keys are compared without regard to case.</summary>
    public ValueMap(IEnumerable<KeyValuePair<string, string[]>> values)
    {
        _values = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in values)
        {
            _values[key] = value;
        }
    }

    /// <summary>The first value of <paramref name="name"/>, or <see langword="null"/> when absent.</summary>
    public string? this[string name] =>
        _values.TryGetValue(name, out var values) && values.Length > 0 ? values[0] : null;

    /// <summary>Every value of <paramref name="name"/>; empty when absent.</summary>
    public IReadOnlyList<string> GetValues(string name) =>
        _values.TryGetValue(name, out var values) ? values : [];

    /// <summary>Whether <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => _values.ContainsKey(name);

    /// <summary>The number of distinct names.</summary>
    public int Count => _values.Count;

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, string[]>> GetEnumerator() => _values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
