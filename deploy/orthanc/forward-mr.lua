-- Sends every new MR instance to the BrainTumor service ("braintumor" in DicomWeb.Servers) by STOW-RS, as an Orthanc job
-- so that storing is never held up. The results the service stores back (modality SR and OT) are not MR, so they stay here.
function OnStoredInstance(instanceId, tags, metadata, origin)
  if tags['Modality'] == 'MR' then
    RestApiPost('/dicom-web/servers/braintumor/stow', '{"Resources": ["' .. instanceId .. '"], "Synchronous": false}')
  end
end
