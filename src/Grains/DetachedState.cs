namespace OrleansWs;

/// <summary>Grain state kept in memory, for a handler that runs without a cluster; counts its writes.</summary>
internal sealed class DetachedState<T> : IPersistentState<T> where T : new()
{
    public T State { get; set; } = new();

    public string? Etag { get; private set; }

    public bool RecordExists { get; private set; }

    public int Writes { get; private set; }

    public Task ReadStateAsync() => Task.CompletedTask;

    public Task WriteStateAsync()
    {
        Writes++;
        RecordExists = true;
        Etag = Writes.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Task.CompletedTask;
    }

    public Task ClearStateAsync()
    {
        State = new();
        RecordExists = false;
        Etag = null;
        return Task.CompletedTask;
    }
}
