-- Argo CD health check for every mailshift.io kind (resource.customizations.health.mailshift.io_<Kind>).
-- It reads the status contract all mailshift kinds share:
--   Degraded     Stalled=True: a person must act (bad spec, missing Secret, retries exhausted, a failed
--                migration).
--   Suspended    a MailboxMigration, MigrationBatch or SyncPolicy paused with spec.suspend (phase Suspended,
--                or Ready=False with reason Suspended), unless it is already done.
--   Healthy      Ready=True for the current spec.
--   Progressing  anything else: the controller has not looked yet, or work is in flight.
-- Argo CD runs custom health scripts without Lua's string library, so nothing here uses it.
local hs = { status = "Progressing", message = "Waiting for the controller" }

local function condition(status, type)
  if status == nil or status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local suspend = obj.spec ~= nil and obj.spec.suspend == true
local status = obj.status
local ready = condition(status, "Ready")
local stalled = condition(status, "Stalled")

if status == nil or status.conditions == nil then
  if suspend then
    hs.status = "Suspended"
    hs.message = "Suspended (spec.suspend)"
  end
  return hs
end

if status.observedGeneration ~= nil and obj.metadata.generation ~= nil
    and status.observedGeneration < obj.metadata.generation then
  hs.message = "Waiting for the controller to see the latest spec"
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "Stalled") .. ": " .. (stalled.message or "")
  return hs
end

local done = ready ~= nil and ready.status == "True"
if status.phase == "Suspended" or (ready ~= nil and ready.reason == "Suspended")
    or (suspend and (not done or obj.kind == "SyncPolicy")) then
  -- A suspended SyncPolicy syncs nothing whatever its last cycle said; a finished migration or batch is
  -- done, suspended or not.
  hs.status = "Suspended"
  hs.message = "Suspended (spec.suspend)"
  if ready ~= nil and ready.reason == "Suspended" and ready.message ~= nil and ready.message ~= "" then
    hs.message = ready.message
  end
  return hs
end

if ready ~= nil then
  hs.message = ready.message
  if done then
    hs.status = "Healthy"
  end
end
return hs
