namespace OrleansWs;

/// <summary>A handler that keeps no state of its own per peer.</summary>
public abstract class WebSocketHandler : WebSocketHandler<NoPeerState>
{
}

/// <summary>The state of a handler that keeps none.</summary>
[GenerateSerializer]
public sealed class NoPeerState
{
}
