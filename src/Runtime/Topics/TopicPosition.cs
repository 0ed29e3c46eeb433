namespace OrleansWs.Internal;

/// <summary>
/// Where a publish stands in its topic: given by the topic's queue or log, opaque to everyone else,
/// ordered within one topic. Compare positions of the same topic only.
/// </summary>
internal readonly record struct TopicPosition(long Value) : IComparable<TopicPosition>
{
    /// <summary>Before every publish.</summary>
    public static TopicPosition Start => new(long.MinValue);

    /// <inheritdoc />
    public int CompareTo(TopicPosition other) => Value.CompareTo(other.Value);

    public static bool operator <(TopicPosition left, TopicPosition right) => left.Value < right.Value;

    public static bool operator >(TopicPosition left, TopicPosition right) => left.Value > right.Value;

    public static bool operator <=(TopicPosition left, TopicPosition right) => left.Value <= right.Value;

    public static bool operator >=(TopicPosition left, TopicPosition right) => left.Value >= right.Value;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
